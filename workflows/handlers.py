"""Handlers of the approval machine: what a permitted action changes and tells; pure."""

from __future__ import annotations

from workflows.commands import Answer, Cancel
from workflows.effects import Audience, Effect, Notify, PostCard, RefreshCards, Target
from workflows.guards import Context, eligible_approvers, waiting_consultations
from workflows.inventory import backup_people, informed_of
from workflows.ledger import AuditEvent, format_time
from workflows.machine_types import Outcome, Step
from workflows.model import ApprovalRequest, Status, Verdict, Vote
from workflows.policy import Policy, TierRules
from workflows.wording import describe, display_name, names, outcome_text, tally


def request_event(ctx: Context, action: str, **data: object) -> AuditEvent:
    """An entry about the request; every one names the activity it is about."""
    return AuditEvent(
        action=action,
        subject_type="request",
        subject_id=ctx.state.id,
        actor=ctx.actor,
        data={"activity": ctx.state.activity, **data},
    )


def _tell_requester(state: ApprovalRequest, text: str) -> Notify:
    return Notify(request_id=state.id, text=text, to=Target(actor=state.requester))


def _tell_informed(state: ApprovalRequest, policy: Policy, text: str) -> tuple[Notify, ...]:
    informed = informed_of(policy, state.system, state.activity)
    return tuple(
        Notify(request_id=state.id, text=text, to=Target(channel=c)) for c in informed.channels
    ) + tuple(Notify(request_id=state.id, text=text, to=Target(person=p)) for p in informed.people)


def _finish(ctx: Context, new: ApprovalRequest, event: AuditEvent, code: str) -> Step:
    """Close a request: cards re-rendered, requester and Informed told."""
    text = f"{describe(new)} was {outcome_text(new, ctx.policy)}."
    if new.artifact is not None:
        # The decision names what it decided on, so the ledger alone proves which build.
        data = {**event.data, "artifact_digest": new.artifact.digest}
        event = event.model_copy(update={"data": data})
    effects: tuple[Effect, ...] = (
        RefreshCards(request_id=new.id),
        _tell_requester(new, text),
        *_tell_informed(new, ctx.policy, text),
    )
    return Step(new, effects, (event,), Outcome(True, code, text))


def _rules(ctx: Context) -> TierRules | None:
    """The activity's rules now; None once the policy no longer lists its system."""
    system = ctx.state.system
    if system not in ctx.policy.systems:
        return None
    return ctx.policy.rules_for(system, ctx.state.activity)


def _vote(ctx: Context) -> Vote:
    assert isinstance(ctx.command, Answer)
    return Vote(
        person=ctx.actor.person or "",
        verdict=ctx.command.verdict,
        at=ctx.now,
        platform=ctx.actor.platform,
        comment=(ctx.command.comment or "").strip() or None,
    )


def approve(ctx: Context) -> Step:
    state = ctx.state
    if ctx.actor.person in state.approvers():
        return Step.unchanged(
            state, Outcome(True, "already-voted", f"You already approved this ({tally(state)}).")
        )
    vote = _vote(ctx)
    new = state.model_copy(update={"approvals": (*state.approvals, vote)})
    # An approver's words are part of the record an auditor reads, as a rejection's reason is.
    said = {"comment": vote.comment} if vote.comment else {}
    if len(new.approvals) >= new.quorum:
        new = new.model_copy(update={"status": Status.APPROVED, "decided_at": ctx.now})
        approvers = list(new.approvers())
        event = request_event(ctx, "approved", approvers=approvers, tally=tally(new), **said)
        return _finish(ctx, new, event, "approved")
    event = request_event(ctx, "voted", verdict="approve", tally=tally(new), **said)
    return Step(
        new,
        (RefreshCards(request_id=new.id),),
        (event,),
        Outcome(True, "voted", f"Your approval is recorded ({tally(new)})."),
    )


def reject(ctx: Context) -> Step:
    vote = _vote(ctx)
    new = ctx.state.model_copy(
        update={"rejection": vote, "status": Status.REJECTED, "decided_at": ctx.now}
    )
    return _finish(ctx, new, request_event(ctx, "rejected", reason=vote.comment), "rejected")


def consult(ctx: Context) -> Step:
    state = ctx.state
    if ctx.actor.person in state.answered():
        return Step.unchanged(
            state, Outcome(True, "already-answered", "You already answered this request.")
        )
    vote = _vote(ctx)
    new = state.model_copy(update={"consultations": (*state.consultations, vote)})
    event = request_event(ctx, "consulted", verdict=vote.verdict.value, comment=vote.comment)
    effects: list[Effect] = [RefreshCards(request_id=new.id)]
    if vote.verdict is Verdict.CONCERN:
        text = (
            f"{display_name(ctx.policy, vote.person)} raised a concern about "
            f"{describe(new)}: {vote.comment}"
        )
        effects += [
            Notify(request_id=new.id, text=text, to=Target(person=p))
            for p in eligible_approvers(new, ctx.policy)
        ]
        effects.append(_tell_requester(new, text))
    return Step(new, tuple(effects), (event,), Outcome(True, "consulted", "Thank you, noted."))


def cancel(ctx: Context) -> Step:
    assert isinstance(ctx.command, Cancel)
    new = ctx.state.model_copy(update={"status": Status.CANCELLED, "decided_at": ctx.now})
    event = request_event(ctx, "cancelled", reason=(ctx.command.reason or "").strip() or None)
    return _finish(ctx, new, event, "cancelled")


def expire(ctx: Context) -> Step:
    new = ctx.state.model_copy(update={"status": Status.EXPIRED, "decided_at": ctx.now})
    event = request_event(ctx, "expired", tally=tally(new), expires_at=format_time(new.expires_at))
    return _finish(ctx, new, event, "expired")


def escalate(ctx: Context) -> Step:
    state = ctx.state
    backups = backup_people(ctx.policy, state.system, state.activity)
    # The escalation is itself the chase, so the reminder pace starts again from here.
    rules = _rules(ctx)
    remind_at = ctx.now + rules.remind_after if rules else state.remind_at
    new = state.model_copy(update={"escalated": True, "remind_at": remind_at})
    event = request_event(ctx, "escalated", to=list(backups))
    effects: tuple[Effect, ...] = (
        *(
            PostCard(request_id=state.id, audience=Audience.APPROVER, to=Target(person=p))
            for p in backups
            if p not in state.approvers()
        ),
        _tell_requester(
            new, f"{describe(new)} is still waiting; escalated to {names(ctx.policy, backups)}."
        ),
    )
    return Step(new, effects, (event,), Outcome(True, "escalated", "Escalated."))


def remind(ctx: Context) -> Step:
    state = ctx.state
    rules = _rules(ctx)
    waiting = tuple(p for p in eligible_approvers(state, ctx.policy) if p not in state.approvers())
    if state.consult_first:
        waiting += waiting_consultations(state)
    next_at = ctx.now + rules.remind_after if rules else None
    count = state.reminders_sent + 1
    new = state.model_copy(update={"reminders_sent": count, "remind_at": next_at})
    event = request_event(ctx, "reminded", to=list(waiting), count=new.reminders_sent)
    text = f"Reminder: {describe(new)} is waiting for your answer ({tally(new)})."
    effects = tuple(Notify(request_id=state.id, text=text, to=Target(person=p)) for p in waiting)
    return Step(new, effects, (event,), Outcome(True, "reminded", "Reminded."))


def tick(ctx: Context) -> Step:
    state, now = ctx.state, ctx.now
    if now >= state.expires_at:
        return expire(ctx)
    if state.escalate_at is not None and not state.escalated and now >= state.escalate_at:
        return escalate(ctx)
    if state.remind_at is not None and now >= state.remind_at:
        return remind(ctx)
    return Step.unchanged(state, Outcome(True, "nothing-due", "Nothing is due."))


def freeze(ctx: Context) -> Step:
    """Approval waits for the incident; the cards say so, and lose nothing already given."""
    incident = getattr(ctx.command, "incident_id", "")
    if ctx.state.frozen_by == incident or not ctx.policy.freezes(
        ctx.state.system, ctx.state.activity
    ):
        return ignore(ctx)
    new = ctx.state.model_copy(update={"frozen_by": incident, "revision": ctx.state.revision + 1})
    event = request_event(ctx, "frozen", incident=incident)
    outcome = Outcome(
        True, "frozen", f"{describe(new)} is frozen while incident {incident} is open."
    )
    return Step(new, (RefreshCards(request_id=new.id),), (event,), outcome)


def thaw(ctx: Context) -> Step:
    """The incident closed: approval may go on where it stopped."""
    incident = getattr(ctx.command, "incident_id", "")
    if ctx.state.frozen_by != incident:
        return ignore(ctx)
    new = ctx.state.model_copy(update={"frozen_by": None, "revision": ctx.state.revision + 1})
    event = request_event(ctx, "thawed", incident=incident)
    outcome = Outcome(True, "thawed", f"{describe(new)} may be decided again.")
    return Step(new, (RefreshCards(request_id=new.id),), (event,), outcome)


def ignore(ctx: Context) -> Step:
    return Step.unchanged(ctx.state, Outcome(True, "nothing-due", "Nothing is due."))


def unreachable(ctx: Context) -> Step:
    raise AssertionError("a guard refuses this transition before its handler runs")
