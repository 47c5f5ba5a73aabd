"""`refresh.userIds` holds what Microsoft documents: user MRIs (`29:...`), not the Entra object
ids the policy names. Signoff learns them from activities and asks the connector for the rest.
"""

from __future__ import annotations

from tests.teams_world import AAD, GOV_CHANNEL, TeamsWorld

DEPLOY = "deploy credit-scoring 2.3.1 to prod -- retrain"
ANSWERERS = ("mina", "jae", "lee", "dan")


def refreshed(teams: TeamsWorld) -> set[str]:
    card = teams.card_in(GOV_CHANNEL).body["attachments"][0]["content"]
    return set(card["refresh"]["userIds"])


def look_ups(teams: TeamsWorld) -> list[str]:
    """The members the connector was asked about, by the id each was asked by."""
    return [
        c.path.rsplit("/", 1)[1]
        for c in teams.connector.calls
        if c.method == "GET" and "/members/" in c.path
    ]


async def test_refresh_names_the_people_who_may_answer_by_their_mris(teams: TeamsWorld) -> None:
    await teams.say("soo", DEPLOY)
    await teams.h.settle()
    assert refreshed(teams) == {f"29:{p}" for p in ANSWERERS}
    asked = look_ups(teams)
    assert set(asked) == {AAD[p] for p in ANSWERERS}  # by object id, as the policy names them
    # Once known, an MRI is not asked for again: not for the next request's cards either.
    await teams.say("soo", "deploy credit-scoring 2.3.2 to prod -- again")
    await teams.h.settle()
    assert look_ups(teams) == asked
    assert refreshed(teams) == {f"29:{p}" for p in ANSWERERS}


async def test_an_mri_is_learned_from_the_persons_own_activity(teams: TeamsWorld) -> None:
    await teams.say("mina", "help")
    teams.connector.mris.clear()  # the roster knows nobody by object id any more
    await teams.say("soo", DEPLOY)
    await teams.h.settle()
    # Mina wrote from 29:mina; the others could not be found, and the cards went all the same.
    assert refreshed(teams) == {"29:mina"}
    assert teams.card_in(teams.chat_of("jae"))


async def test_an_invoke_answers_with_the_mris_known_so_far(teams: TeamsWorld) -> None:
    await teams.say("soo", DEPLOY)
    await teams.h.settle()
    status, body = await teams.press(
        "mina", teams.card_in(teams.chat_of("mina")), "signoff.refresh"
    )
    assert status == 200
    assert set(body["value"]["refresh"]["userIds"]) == {f"29:{p}" for p in ANSWERERS}
