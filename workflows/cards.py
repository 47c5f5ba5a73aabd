"""What a request's card shows to one audience, computed from state and policy; pure.

Adapters render a `CardView` as Block Kit or an Adaptive Card; they never decide which
buttons someone gets.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.effects import Audience
from workflows.github import GITHUB
from workflows.guards import eligible_approvers, waiting_consultations
from workflows.inventory import raci_for
from workflows.model import ApprovalRequest, Status, Verdict
from workflows.opening import API
from workflows.policy import Policy
from workflows.times import readable_time
from workflows.wording import describe, display_name, names, outcome_text, tally


@dataclass(frozen=True)
class CardView:
    request_id: str
    revision: int
    title: str
    system: str
    system_name: str
    tier: str
    version: str
    environment: str | None
    reason: str | None
    requester: str
    status: Status
    status_text: str
    raci: tuple[tuple[str, str], ...]
    consultation: tuple[tuple[str, str], ...]
    notice: str | None
    buttons: tuple[Verdict, ...]
    # Who could still answer (eligible approvers, then those consulted and not yet heard).
    answerers: tuple[str, ...] = ()
    # What a machine that asks says of it: the artifact, the CI run, the agent's call.
    details: tuple[tuple[str, str], ...] = ()
    # The agent's tool call as approvers read it, secrets masked.
    preview: str | None = None


_BUTTONS = {
    Audience.APPROVER: (Verdict.APPROVE, Verdict.REJECT),
    Audience.CONSULTED: (Verdict.NO_OBJECTION, Verdict.CONCERN),
    Audience.INFORMED: (),
}


def card_view(
    state: ApprovalRequest, policy: Policy, audience: Audience, viewer: str | None = None
) -> CardView:
    """The card for `audience`; buttons only while pending and only where they could count."""
    system = policy.systems.get(state.system)
    raci = raci_for(policy, state.system, state.activity)
    rows: tuple[tuple[str, str], ...] = ()
    if raci is not None:
        rows = (
            ("Responsible", ", ".join(raci.responsible)),
            (
                "Accountable",
                f"{raci.accountable} ({names(policy, eligible_approvers(state, policy))})",
            ),
            ("Consulted", ", ".join(raci.consulted) or "none"),
            ("Informed", ", ".join(raci.informed) or "none"),
        )
    answers = {v.person: v for v in state.consultations}
    consultation = tuple(
        (
            display_name(policy, p),
            _answer_text(answers[p].verdict, answers[p].comment) if p in answers else "waiting",
        )
        for p in state.consulted
    )
    buttons = _BUTTONS[audience] if state.status is Status.PENDING else ()
    if audience is Audience.CONSULTED and viewer in answers:
        buttons = ()
    return CardView(
        request_id=state.id,
        revision=state.revision,
        title=describe(state),
        system=state.system,
        system_name=system.name if system else state.system,
        tier=system.tier if system else "unknown",
        version=state.version or "not given",
        environment=state.environment,
        reason=state.reason,
        requester=_requester(state, policy),
        status=state.status,
        status_text=outcome_text(state, policy)
        if state.status is not Status.PENDING
        else tally(state),
        raci=rows,
        consultation=consultation,
        notice=_notice(state, policy),
        buttons=buttons,
        answerers=_answerers(state, policy),
        details=_details(state),
        preview=state.agent.preview if state.agent else None,
    )


def audience_of(state: ApprovalRequest, policy: Policy, person: str | None) -> Audience:
    """Which card `person` should see of a request: the one with the buttons they may use."""
    if person is not None and person in eligible_approvers(state, policy):
        return Audience.APPROVER
    if person is not None and person in waiting_consultations(state):
        return Audience.CONSULTED
    return Audience.INFORMED


def _requester(state: ApprovalRequest, policy: Policy) -> str:
    """A person by name; a machine as the client it is, and for whom it asks."""
    platform, account = state.requester.platform, state.requester.platform_user_id
    if platform not in (API, GITHUB):
        return display_name(policy, state.requester.person)
    # The GitHub deployment gate asks as the repository whose run waits.
    client = f"client {account}" if platform == API else f"GitHub {account}"
    # A pipeline's token maps its actor to a person of record; an agent names whom it serves.
    person = state.on_behalf_of or state.requester.person
    return client if person is None else f"{client} on behalf of {display_name(policy, person)}"


def _details(state: ApprovalRequest) -> tuple[tuple[str, str], ...]:
    rows: list[tuple[str, str | None]] = []
    if state.artifact is not None:
        rows += [("Artifact", state.artifact.digest), ("Artifact at", state.artifact.uri)]
    if state.ci is not None:
        ci = state.ci
        run = " ".join(p for p in (ci.repository, f"run {ci.run_id}" if ci.run_id else None) if p)
        rows += [("CI run", f"{ci.provider}: {run}" if run else ci.provider)]
        rows += [("Run link", ci.run_url), ("Commit", ci.sha)]
    if state.agent is not None:
        agent = state.agent
        session = f" (session {agent.session})" if agent.session else ""
        rows += [("AI agent", f"{agent.name}{session}"), ("Tool", agent.tool)]
        rows += [("Arguments digest", agent.arguments_digest)]
    return tuple((label, value) for label, value in rows if value)


def _answerers(state: ApprovalRequest, policy: Policy) -> tuple[str, ...]:
    if state.status is not Status.PENDING:
        return ()
    approvers = eligible_approvers(state, policy)
    return approvers + tuple(p for p in waiting_consultations(state) if p not in approvers)


def _answer_text(verdict: Verdict, comment: str | None) -> str:
    if verdict is Verdict.CONCERN:
        return f"concern: {comment}"
    return "no objection"


def _notice(state: ApprovalRequest, policy: Policy) -> str | None:
    if state.status is not Status.PENDING:
        return None
    if state.frozen_by:
        return f"Frozen while incident {state.frozen_by} is open."
    waiting = waiting_consultations(state)
    if state.consult_first and waiting:
        return (
            f"Approval opens once {names(policy, waiting)} answered, "
            f"or at {readable_time(state.consult_until, policy.timezone)}."
        )
    return f"Expires at {readable_time(state.expires_at, policy.timezone)} if not decided."
