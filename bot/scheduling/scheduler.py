"""APScheduler 3 triggering the sweep on an interval while the aiohttp app runs; no adapters.

One job, in memory (no pickled job store: REM-06), `coalesce` and `max_instances=1`, so a slow
sweep is never run twice at once. Due dates live in our tables; the job only asks the leader
to sweep, and a sweep that fails is logged and tried again at the next interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from aiohttp import web
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.port import ServiceUnavailable
from bot.runtime import Mount, Runtime
from bot.scheduling.anchoring import AnchorConfig, Anchorer
from bot.scheduling.leader import Leadership, leadership_for
from bot.scheduling.sweep import run_sweep

log = logging.getLogger("signoff.scheduler")

JOB_ID = "signoff-sweep"
ANCHOR_JOB_ID = "signoff-anchor"


class SweepScheduler:
    """The interval job and the sweep it may be running, so shutdown can wait for it."""

    def __init__(
        self,
        runtime: Runtime,
        leadership: Leadership,
        interval_seconds: float,
        clock: Callable[[], datetime],
        anchorer: Anchorer | None = None,
    ) -> None:
        self.runtime = runtime
        self.anchorer = anchorer
        self.leadership = leadership
        self.interval = interval_seconds
        self.clock = clock
        self.scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
        self._running: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.scheduler.add_job(
            self._sweep,
            "interval",
            seconds=self.interval,
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        if self.anchorer is not None:
            self.scheduler.add_job(
                self._anchor,
                "interval",
                seconds=self.anchorer.config.check_seconds,
                id=ANCHOR_JOB_ID,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()
        log.info("sweeps every %s s: reminders, escalations, expiries, reviews", self.interval)

    async def stop(self) -> None:
        # Shutting APScheduler down cancels a running job, which would leave a message
        # claimed but unsent until its lease ran out: stop new runs, let this one finish.
        self.scheduler.pause()
        if self._running is not None and not self._running.done():
            await asyncio.wait_for(asyncio.shield(self._running), timeout=30)
        self.scheduler.shutdown(wait=False)
        await self.leadership.release()

    def jobs(self) -> list[str]:
        return [job.id for job in self.scheduler.get_jobs()]

    async def _sweep(self) -> None:
        self._running = asyncio.current_task()
        try:
            if not await self.leadership.hold():
                return
            # The relay beside the scheduler delivers what the sweep queues.
            report = await run_sweep(self.runtime, self.clock(), deliver=False)
        except ServiceUnavailable as error:
            log.warning("sweep skipped, database unavailable: %s", error)
            return
        except Exception:
            log.exception("sweep failed; it runs again in %s s", self.interval)
            return
        if report.ticked or report.reviews_ticked or report.reviews_scheduled or report.failed:
            log.info("sweep: %s", report.summary())

    async def _anchor(self) -> None:
        # Every replica keeps its anchor-age metric fresh; the leader alone anchors.
        assert self.anchorer is not None
        try:
            await self.anchorer.refresh()
            if await self.leadership.hold():
                await self.anchorer.run()
        except Exception:
            seconds = self.anchorer.config.check_seconds
            log.exception("anchoring failed; it runs again in %s s", seconds)


SCHEDULER = web.AppKey("scheduler", SweepScheduler)


def scheduler_mount(
    interval_seconds: float, clock: Callable[[], datetime], anchoring: AnchorConfig | None = None
) -> Mount:
    """Runs the sweep scheduler, and the anchoring job when configured, for the
    application's lifetime."""

    def mount(app: web.Application, runtime: Runtime) -> None:
        anchorer = Anchorer(runtime, anchoring, clock) if anchoring else None
        leadership = leadership_for(runtime.engine)
        sweeps = SweepScheduler(runtime, leadership, interval_seconds, clock, anchorer)
        app[SCHEDULER] = sweeps

        async def lifetime(_: web.Application) -> AsyncIterator[None]:
            sweeps.start()
            yield
            await sweeps.stop()

        app.cleanup_ctx.append(lifetime)

    return mount
