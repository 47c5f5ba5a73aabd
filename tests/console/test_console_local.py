"""The main job in the console's local mode, in process over real HTTP and a real database:
ask as the Responsible, answer as the Consulted and the Accountable, see it in the ledger."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.export import verify_export
from bot.storage.api_clients import claim_key
from tests.console.site import console_site, flash
from tests.harness import actor
from workflows.commands import Answer, OpenRequest
from workflows.model import Actor, Verdict


async def test_a_quorum_of_two_is_asked_consulted_and_approved_in_the_console(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        request_id = await browser.open()
        # Jae asked, so Jae may not decide, though Jae is one of the Accountable leads.
        refused = flash(await browser.answer(request_id, "approve"))
        assert refused is not None and refused[0] == "refused"
        assert "You asked for this, so you cannot decide it yourself" in refused[1]
        await browser.act_as("mina")
        early = flash(await browser.answer(request_id, "approve"))
        assert early is not None and early[0] == "refused"
        assert "Dan Ruiz" in early[1]  # consult_first: the card says who must answer first
        await browser.act_as("dan")
        await browser.answer(request_id, "no-objection", "looks fine")
        await browser.act_as("mina")
        await browser.answer(request_id, "approve")
        await browser.act_as("tomas")
        page = await browser.answer(request_id, "approve")
        assert 'id="status">approved<' in page
        state = await harness.state(request_id)
        assert state.status.value == "approved"
        assert {(v.person, v.platform) for v in state.approvals} == {
            ("mina", "web"),
            ("tomas", "web"),
        }
        actions = await harness.actions(request_id)
        assert actions == ["requested", "denied", "denied", "consulted", "voted", "approved"]
        # The page's timeline is the ledger's entries about the request, seq and hash.
        seqs = [int(s) for s in re.findall(r'<td class="seq">(\d+)</td>', page)]
        ledger = [e for e in await harness.ledger() if e.subject_id == request_id]
        assert seqs == [e.seq for e in ledger]
        for entry in ledger:
            assert entry.hash[:12] in page
        # Everyone involved sees it in the audit trail.
        trail = await browser.get("/ledger")
        assert request_id in trail and "consulted" in trail


async def test_forms_without_the_sessions_csrf_token_are_refused_and_change_nothing(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        fields = {"target": "scoring:deploy", "version": "9.9"}
        async with browser.client.post("/requests", data=fields) as response:
            assert response.status == 403
        async with browser.client.post("/requests", data={**fields, "csrf": "forged"}) as response:
            assert response.status == 403
        async with browser.client.post("/console/as", data={"person": "mina"}) as response:
            assert response.status == 403
        assert await harness.ledger() == []
        assert "Jae Kim" in await browser.get("/")  # still Jae: the switch was refused too
        async with browser.client.get("/") as response:
            policy = response.headers["Content-Security-Policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert response.headers["Cache-Control"] == "no-store"
            cookie = response.cookies["signoff_console"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            assert not cookie["secure"]  # loopback, plain HTTP: a Secure cookie would be lost


async def test_a_person_who_may_not_see_a_system_gets_404_for_its_request(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (_, browser):
        await browser.act_as("jae")
        request_id = await browser.open()
        await browser.act_as("priya")
        page = await browser.get(f"/requests/{request_id}", status=404)
        assert "quarterly retrain" not in page
        assert request_id not in await browser.get("/requests")
        assert request_id not in await browser.get("/ledger")
        async with browser.client.post(
            f"/requests/{request_id}/answer",
            data={"csrf": await browser.csrf(), "verdict": "approve", "revision": "1"},
        ) as response:
            assert response.status == 404
        await browser.act_as("kim")  # Accountable for search only
        await browser.get(f"/requests/{request_id}", status=404)


async def test_a_decision_in_the_console_and_a_click_in_slack_count_one_person_once(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (harness, browser):
        request_id = "RCONSOLESLACK1"
        opened = await harness.service.handle(
            OpenRequest(request_id=request_id, actor=actor("jae"), system="scoring", version="3")
        )
        assert opened.ok, opened
        await harness.answer(request_id, "dan", Verdict.NO_OBJECTION)
        await browser.act_as("mina")
        await browser.answer(request_id, "approve")
        in_slack = await harness.service.handle(
            Answer(request_id=request_id, actor=actor("mina"), verdict=Verdict.APPROVE)
        )
        assert in_slack.code == "already-voted"
        state = await harness.state(request_id)
        assert state.status.value == "pending"
        assert [v.person for v in state.approvals] == ["mina"]


async def test_an_auditor_exports_a_ledger_that_verifies_and_the_export_is_recorded(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        await browser.open()
        async with browser.client.post(
            "/ledger/export", data={"csrf": await browser.csrf()}
        ) as response:
            assert response.status == 403  # only the policy's console auditors export
        await browser.act_as("lena")
        async with browser.client.post(
            "/ledger/export", data={"csrf": await browser.csrf(), "since": "2020-01-01"}
        ) as response:
            assert response.status == 200
            body = await response.read()
        path = tmp_path / "ledger.jsonl"
        path.write_bytes(body)
        result = verify_export(path)
        assert result.ok and result.checked == 1
        [*_, exported] = await harness.ledger()
        assert exported.action == "exported" and exported.actor_person == "lena"
        assert exported.data["sha256"] == hashlib.sha256(body).hexdigest()
        assert exported.data["entries"] == 1
        assert json.loads(body.splitlines()[0])["action"] == "requested"
        verified = await browser.get("/ledger?verify=1")
        assert "The chain verifies: 2 entries" in verified


async def test_a_request_an_agent_opened_shows_its_client_tool_preview_and_artifact_digest(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (harness, browser):
        request_id = "RAGENTASKED1"
        client = Actor(person=None, platform="api", platform_user_id="scoring-ci")
        opened = await harness.service.handle(
            OpenRequest(request_id=request_id, actor=client, system="scoring", version="4.1")
        )
        assert opened.ok, opened
        digest = "sha256:" + "ab" * 32
        body = {
            "system": "scoring",
            "version": "4.1",
            "artifact": {"digest": digest},
            "context": {
                "agent": {"name": "ops-agent", "tool": "kubectl_apply", "preview": "<b>apply</b>"}
            },
        }
        async with engine.begin() as conn:
            await claim_key(conn, "scoring-ci", "k1", "f" * 64, request_id, json.dumps(body),
                            harness.clock())  # fmt: skip
        await browser.act_as("mina")
        page = await browser.get(f"/requests/{request_id}")
        assert f'<code id="artifact-digest">{digest}</code>' in page
        assert "kubectl_apply" in page and "ops-agent" in page and "scoring-ci" in page
        # What an agent wrote is shown as text, never as markup.
        assert "&lt;b&gt;apply&lt;/b&gt;" in page and "<b>apply</b>" not in page


async def test_a_request_page_says_which_of_its_messages_arrived(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        request_id = await browser.open()
        await harness.settle()
        await browser.act_as("mina")
        page = await browser.get(f"/requests/{request_id}")
        table = page[page.index('<table id="deliveries">') :]
        table = table[: table.index("</table>")]
        # Cards to the consulted and the Accountable went out through Slack (the fake here).
        assert table.count("<tr><td>slack</td>") >= 3
        assert ">sent<" in table and "dead" not in table
        trail = await browser.get("/ledger")
        assert "Not anchored outside the database yet." in trail


async def test_an_auditor_takes_an_evidence_pack_whose_manifest_holds_its_files(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        rejected = await browser.open()
        await browser.act_as("dan")
        await browser.answer(rejected, "no-objection")
        await browser.act_as("mina")
        await browser.answer(rejected, "reject", '=HYPERLINK("http://x") not this quarter')
        await browser.act_as("mina")
        async with browser.client.post(
            "/ledger/evidence", data={"csrf": await browser.csrf()}
        ) as response:
            assert response.status == 403
        await browser.act_as("lena")
        async with browser.client.post(
            "/ledger/evidence",
            data={"csrf": await browser.csrf(), "since": "2026-11-01", "until": "2026-11-03"},
        ) as response:
            assert response.status == 200
            assert response.content_type == "application/zip"
            data = await response.read()
        with zipfile.ZipFile(io.BytesIO(data)) as pack:
            names = set(pack.namelist())
            files = {name: pack.read(name) for name in names}
        assert {"ledger.jsonl", "decisions.csv", "reviews.csv", "incidents.csv", "README.txt",
                "manifest.json"} <= names  # fmt: skip
        manifest = json.loads(files["manifest.json"])
        for name, facts in manifest["files"].items():
            assert hashlib.sha256(files[name]).hexdigest() == facts["sha256"], name
        assert set(manifest["files"]) == names - {"manifest.json"}
        ledger = tmp_path / "ledger.jsonl"
        ledger.write_bytes(files["ledger.jsonl"])
        assert verify_export(ledger).ok
        in_period = [e for e in await harness.ledger() if e.action != "exported"]
        lines = files["ledger.jsonl"].splitlines()
        assert manifest["ledger"]["entries"] == len(lines) == len(in_period)
        assert [json.loads(line)["action"] for line in lines][-3:] == [
            "requested", "consulted", "rejected",
        ]  # fmt: skip
        decisions = list(csv.DictReader(io.StringIO(files["decisions.csv"].decode())))
        [row] = decisions
        assert row["request"] == rejected and row["status"] == "rejected"
        assert row["rejected_by"] == "mina"
        # A spreadsheet would run this cell as a formula: it is neutralised.
        assert row["rejection_reason"].startswith("'=HYPERLINK")
        assert "Art. 12" in files["README.txt"].decode()
        [*_, taken] = await harness.ledger()
        assert taken.action == "exported" and taken.actor_person == "lena"
        assert taken.data["format"] == "evidence-pack"
        assert taken.data["manifest_sha256"] == hashlib.sha256(files["manifest.json"]).hexdigest()


async def test_a_rejection_without_a_reason_is_refused_as_in_chat(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("priya")
        request_id = await browser.open("1.0", "search:deploy")
        await browser.act_as("kim")
        refused = flash(await browser.answer(request_id, "reject", "   "))
        assert refused is not None and refused[0] == "refused"
        assert "reason" in refused[1].lower()
        assert (await harness.state(request_id)).status.value == "pending"
        done = flash(await browser.answer(request_id, "reject", "not before the audit"))
        assert done is not None and done[0] == "ok"
        state = await harness.state(request_id)
        assert state.rejection is not None and state.rejection.comment == "not before the audit"


async def test_the_requester_withdraws_a_request_and_no_one_else_may(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        request_id = await browser.open()
        await browser.act_as("mina")
        assert "Cancel this request" not in await browser.get(f"/requests/{request_id}")
        refused = flash(
            await browser.post(f"/requests/{request_id}/cancel", {"reason": "not mine"})
        )
        assert refused is not None and refused[0] == "refused"
        await browser.act_as("jae")
        assert "Cancel this request" in await browser.get(f"/requests/{request_id}")
        page = await browser.post(f"/requests/{request_id}/cancel", {"reason": "wrong build"})
        assert 'id="status">cancelled<' in page
        assert (await harness.actions(request_id))[-2:] == ["denied", "cancelled"]


async def test_a_refused_ask_comes_back_with_what_was_chosen_and_typed(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        fields = {"target": "scoring:deploy", "version": "", "environment": "staging"}
        page = await browser.post("/requests", {**fields, "reason": "keep <this> text"})
        refused = flash(page)
        assert refused is not None and refused[0] == "refused", refused
        assert '<option value="scoring:deploy" selected>' in page
        assert 'name="environment" maxlength="100" autocomplete="off" value="staging"' in page
        assert ">keep &lt;this&gt; text</textarea>" in page  # refilled, and still escaped
        assert "requested" not in [e.action for e in await harness.ledger()]


async def test_an_approvers_words_show_on_the_request_and_in_its_timeline(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        request_id = await browser.open()
        await browser.act_as("dan")
        await browser.answer(request_id, "no-objection")
        await browser.act_as("mina")
        page = await browser.answer(request_id, "approve", "model card reviewed")
        assert page.count("model card reviewed") == 2  # the approvals table and the timeline
        voted = [e for e in await harness.ledger() if e.action == "voted"]
        assert voted[-1].data["comment"] == "model card reviewed"


async def test_the_menu_marks_the_page_you_are_on_and_the_icon_is_served(
    engine: AsyncEngine,
) -> None:
    async with console_site(engine) as (_, browser):
        await browser.act_as("jae")
        page = await browser.get("/requests?status=pending")
        assert '<a href="/requests" aria-current="page">' in page
        assert page.count('aria-current="page"') == 1
        assert "<title>Signoff</title>" in await browser.get("/")
        icon = await browser.get("/console/static/favicon.svg")
        assert icon.startswith("<svg")


async def test_the_audit_trail_links_only_requests_that_exist(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        opened = await browser.open()
        await browser.act_as("dan")  # not a Responsible person of scoring: refused
        refused = flash(
            await browser.post("/requests", {"target": "scoring:deploy", "version": "3"})
        )
        assert refused is not None and refused[0] == "refused"
        (denied,) = [e for e in await harness.ledger() if e.action == "denied"]
        await browser.act_as("lena")
        trail = await browser.get("/ledger")
        assert f'<a href="/requests/{opened}">' in trail
        assert denied.subject_id in trail and f'href="/requests/{denied.subject_id}"' not in trail
