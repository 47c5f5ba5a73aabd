"""The console's actions: choose who to act as (local mode), ask, answer, cancel.

Each form becomes the same command a chat message or a button press would (platform `web`)
and goes through the approval service, whose answer is shown to the person as it is in chat
(save a field left empty, which is named as the form's field, not as the command to type).
Nothing here decides: the machine does. A form is refused 403 without the session's CSRF token.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urlencode

from aiohttp import web

from adapters.console import forms
from adapters.port import ServiceUnavailable
from bot.platforms.console import ConsoleBase, Viewer
from bot.services.console_access import may_see_request
from bot.services.ids import new_request_id
from workflows.commands import Command
from workflows.machine_types import Outcome
from workflows.model import Actor

log = logging.getLogger("signoff.console")


class ConsoleActions(ConsoleBase):
    async def act_as(self, request: web.Request) -> web.Response:
        """Local mode only: act as the chosen person of the policy from now on."""
        if self.mode != "local":
            raise web.HTTPNotFound()
        viewer, form = await self.posted(request)
        person = form.get("person", "")
        if person not in self.policy.people:
            raise web.HTTPBadRequest(text=f"There is no person '{person[:64]}' in the policy.")
        session = replace(viewer.session, person=person, account=f"local:{person}")
        name = self.policy.people[person].name
        session = replace(session, flash=f"You now act as {name}.", flash_ok=True)
        return self.redirect(_back(form), session)

    async def sign_out(self, request: web.Request) -> web.Response:
        await self.posted(request)
        fresh = self.codec.new(self.now())
        return self.redirect("/", replace(fresh, flash="Signed out.", flash_ok=True))

    async def open(self, request: web.Request) -> web.Response:
        viewer, form = await self.posted(request)
        actor = self._actor(viewer)
        system, _, activity = form.get("target", "").partition(":")
        try:
            command = forms.open_request(
                {**form, "system": system, "activity": activity}, actor, new_request_id()
            )
        except (forms.FormError, ValueError) as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        outcome = await self._dispatch(command, form)
        if outcome.ok and outcome.code != "duplicate":
            return self.redirect(
                f"/requests/{command.request_id}",
                replace(viewer.session, flash=outcome.message, flash_ok=True),
            )
        # Back to the form as it was filled, so what is sent next is what the person chose.
        kept = {key: form[key] for key in forms.REFILLED if form.get(key)}
        message = (
            outcome.message if outcome.ok else forms.refusal_text(outcome.code, outcome.message)
        )
        return self.redirect(
            "/requests/new" + (f"?{urlencode(kept)}" if kept else ""),
            replace(viewer.session, flash=message, flash_ok=outcome.ok),
        )

    async def answer(self, request: web.Request) -> web.Response:
        request_id = request.match_info["request_id"]
        viewer, form = await self.posted(request)
        await self._visible_or_404(viewer, request_id)
        try:
            command = forms.answer(form, self._actor(viewer), request_id)
        except (forms.FormError, ValueError) as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        outcome = await self._dispatch(command, form)
        return self._after(viewer, request_id, outcome)

    async def cancel(self, request: web.Request) -> web.Response:
        request_id = request.match_info["request_id"]
        viewer, form = await self.posted(request)
        await self._visible_or_404(viewer, request_id)
        try:
            command = forms.cancel(form, self._actor(viewer), request_id)
        except (forms.FormError, ValueError) as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        outcome = await self._dispatch(command, form)
        return self._after(viewer, request_id, outcome)

    def _actor(self, viewer: Viewer) -> Actor:
        if viewer.person is None:
            raise web.HTTPForbidden(text="Choose who you are (or sign in) first.")
        return viewer.actor()

    async def _visible_or_404(self, viewer: Viewer, request_id: str) -> None:
        record = await self.reads.request(request_id)
        if record is None or not may_see_request(self.policy, viewer.person, record.state):
            raise web.HTTPNotFound(text=f"No request {request_id[:40]} that you may see.")

    async def _dispatch(self, command: Command, form: dict[str, str]) -> Outcome:
        """Through the approval service; a form sent twice (a double click, a reload) is one
        delivery, as a redelivered chat click is."""
        submission = form.get("submission", "")[:64]
        delivery = ("web", submission) if submission else None
        try:
            return await self.runtime.service.handle(command, delivery)
        except ServiceUnavailable:
            raise web.HTTPServiceUnavailable(
                text="The database is unavailable; nothing changed. Try again shortly."
            ) from None

    def _after(self, viewer: Viewer, request_id: str, outcome: Outcome) -> web.Response:
        message = outcome.message
        if outcome.code == "duplicate":
            message = "That form was already sent; nothing more was done."
        return self.redirect(
            f"/requests/{request_id}", replace(viewer.session, flash=message, flash_ok=outcome.ok)
        )


def _back(form: dict[str, str]) -> str:
    """Where a form asks to go next: a path of this console only, never another site."""
    back = form.get("back", "/")
    return back if back.startswith("/") and not back.startswith(("//", "/\\")) else "/"
