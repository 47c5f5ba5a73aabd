"""The console's pages: the front page, requests, a request with its ledger timeline, the
inventory, reviews, incidents and the ledger with its export.

Each page shows only what the policy lets the viewer see (`bot.services.console_access`);
a request they may not see is a 404, as one that does not exist.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from adapters.console import forms, views
from bot.platforms.console import Viewer
from bot.platforms.console_exports import ConsoleExports, period
from bot.services.console_access import (
    may_export,
    may_see_request,
    may_see_system_activity,
    overseen_systems,
    systems_of_interest,
)
from bot.services.console_kpis import indicators
from workflows.durations import format_duration
from workflows.inventory import responsible_people
from workflows.model import ApprovalRequest, Status

STATUSES = tuple(status.value for status in Status)
KPI_LIMIT = 5000


class ConsolePages(ConsoleExports):
    async def index(self, request: web.Request) -> web.Response:
        viewer = self.viewer(request)
        states = await self._requests(viewer)
        visible = [s for s in states if may_see_request(self.policy, viewer.person, s)]
        rows = [views.row(s, self.policy, viewer.person) for s in visible]
        head_seq, head_hash = await self.reads.head()
        anchor = await self.reads.newest_anchor()
        anchored = anchor.created_at if anchor and anchor.created_at else None
        loaded = self.runtime.policies.current
        return await self.page(
            request,
            viewer,
            "index.html",
            {
                "title": "Signoff",
                "waiting": [r for r in rows if r.yours],
                "mine": [
                    views.row(s, self.policy, viewer.person)
                    for s in visible
                    if viewer.person in s.requesters() and s.status is Status.PENDING
                ],
                "counts": views.by_status(visible),
                "digest": loaded.digest,
                "systems": len(self.policy.systems),
                "head_seq": head_seq,
                "head_hash": head_hash,
                "anchor": anchor,
                # The age of the newest anchor, as signoff_anchor_age_seconds reports it.
                "anchor_age": format_duration(
                    timedelta(minutes=(self.now() - anchored).total_seconds() // 60)
                )
                if anchored
                else None,
                "platforms": self.platforms,
            },
        )

    async def requests(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        status = request.query.get("status") or None
        if status is not None and status not in STATUSES:
            raise web.HTTPBadRequest(text=f"status must be one of {', '.join(STATUSES)}")
        states = await self._requests(viewer, status)
        rows = [
            views.row(s, self.policy, viewer.person)
            for s in states
            if may_see_request(self.policy, viewer.person, s)
        ]
        return await self.page(
            request,
            viewer,
            "requests.html",
            {"title": "Requests", "rows": rows, "status": status, "statuses": STATUSES},
        )

    async def new_request(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        # What the viewer may ask for first; the rest stay offered, and the machine's refusal
        # says who may, as it does in chat.
        targets = sorted(
            (
                (
                    f"{system_id}:{activity}",
                    f"{system.name} ({system_id}): {activity}"
                    + ("" if mine else ", for its Responsible people"),
                    mine,
                )
                for system_id, system in sorted(self.policy.systems.items())
                for activity in system.approval_activities
                for mine in (viewer.person in responsible_people(self.policy, system_id, activity),)
            ),
            key=lambda target: not target[2],
        )
        filled = {key: request.query.get(key, "") for key in forms.REFILLED}
        return await self.page(
            request,
            viewer,
            "new_request.html",
            {"title": "Ask for approval", "targets": targets, "filled": filled},
        )

    async def request_page(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        request_id = request.match_info["request_id"]
        record = await self.reads.request(request_id)
        if record is None or not may_see_request(self.policy, viewer.person, record.state):
            return await self.page(
                request, viewer, "missing.html", {"title": "Not found", "what": request_id}, 404
            )
        state = record.state
        card = views.viewer_card(state, self.policy, viewer.person)
        return await self.page(
            request,
            viewer,
            "request.html",
            {
                "title": card.title,
                "state": state,
                "card": card,
                "buttons": views.buttons(card, viewer.person, state),
                "may_cancel": state.status is Status.PENDING
                and viewer.person in state.requesters(),
                "entries": [(e, views.entry_words(e.data)) for e in record.entries],
                "origin": views.context(record.client, record.body),
                "deliveries": record.deliveries,
            },
        )

    async def inventory(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        reviews = {r.system: r for r in await self.reads.reviews()}
        frozen = {i.system: i for i in await self.reads.incidents() if i.status.value == "open"}
        return await self.page(
            request,
            viewer,
            "inventory.html",
            {
                "title": "Inventory",
                "policy": self.policy,
                "reviews": reviews,
                "frozen": frozen,
                "overseen": overseen_systems(self.policy, viewer.person),
            },
        )

    async def reviews(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        now = self.now()
        shown = [
            (
                review,
                "escalated" if review.escalated else "overdue" if review.due_at < now else "due",
            )
            for review in await self.reads.reviews()
            if may_see_system_activity(self.policy, viewer.person, review.system, "risk-review")
        ]
        return await self.page(
            request, viewer, "reviews.html", {"title": "Risk reviews", "reviews": shown}
        )

    async def incidents(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        shown = [
            incident
            for incident in await self.reads.incidents()
            if may_see_system_activity(self.policy, viewer.person, incident.system, "incident")
        ]
        return await self.page(
            request, viewer, "incidents.html", {"title": "Incidents", "incidents": shown}
        )

    async def ledger(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        since, until = period(request.query)
        action = request.query.get("action") or None
        entries = await self.reads.entries(since, until, action)
        # A refused ask names the id it would have had: no page to link to.
        states = await self.reads.states(
            [e.subject_id for e in entries if e.subject_type == "request"]
        )
        if not may_export(self.policy, viewer.person):
            entries = [
                e
                for e in entries
                if e.subject_type == "request"
                and e.subject_id in states
                and may_see_request(self.policy, viewer.person, states[e.subject_id])
            ]
        verification = None
        if request.query.get("verify") and may_export(self.policy, viewer.person):
            verification = await self.reads.verify()
        head_seq, head_hash = await self.reads.head()
        anchor = await self.reads.newest_anchor()
        return await self.page(
            request,
            viewer,
            "ledger.html",
            {
                "title": "Audit trail",
                "entries": [(e, views.entry_words(e.data)) for e in entries],
                "linked": set(states),
                "since": request.query.get("since", ""),
                "until": request.query.get("until", ""),
                "action": action or "",
                "may_export": may_export(self.policy, viewer.person),
                "verification": verification,
                "head_seq": head_seq,
                "head_hash": head_hash,
                "anchor": anchor,
            },
        )

    async def kpis(self, request: web.Request) -> web.Response:
        viewer = self._signed_in(request)
        states = [
            s
            for s in await self._requests(viewer, limit=KPI_LIMIT)
            if may_see_request(self.policy, viewer.person, s)
        ]
        shown = [
            i
            for i in await self.reads.incidents(limit=KPI_LIMIT)
            if may_see_system_activity(self.policy, viewer.person, i.system, "incident")
        ]
        return await self.page(
            request,
            viewer,
            "kpis.html",
            {
                "title": "Indicators",
                "k": indicators(
                    states,
                    shown,
                    [
                        r
                        for r in await self.reads.all_reviews(limit=KPI_LIMIT)
                        if may_see_system_activity(
                            self.policy, viewer.person, r.system, "risk-review"
                        )
                    ],
                    await self.reads.machine_sources(limit=KPI_LIMIT),
                    self.policy,
                    self.now(),
                ),
                "count": len(states),
                "limit": KPI_LIMIT,
            },
        )

    async def mark(self, request: web.Request) -> web.Response:
        """What the live refresh compares: the ledger's head moves with every change."""
        viewer = self.viewer(request)
        if viewer.person is None:
            raise web.HTTPForbidden()
        head_seq, _ = await self.reads.head()
        return web.json_response({"mark": head_seq}, headers={"Cache-Control": "no-store"})

    async def _requests(
        self, viewer: Viewer, status: str | None = None, limit: int = 200
    ) -> list[ApprovalRequest]:
        """The newest requests where the viewer may see any, before each is judged."""
        systems = systems_of_interest(self.policy, viewer.person)
        return await self.reads.requests(status, limit, systems, viewer.person)

    def _signed_in(self, request: web.Request) -> Viewer:
        viewer = self.viewer(request)
        if viewer.person is None:
            raise web.HTTPSeeOther("/")
        return viewer
