"""A clock the tests set: the notifier reads its time, and naps only a moment of real time, so
that a test moves a day ahead in a line and the notifier sees it at once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from sentinelle.server.notify.timing import Clock


class FakeClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment

    async def nap(self, until: datetime | None, woken: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), 0.02)
