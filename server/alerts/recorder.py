"""Where an alert is recorded: a match the watcher saw goes to the store, then to the extension.

The watcher calls the recorder on the event loop and it returns at once: the sighting (or
an account whose name looks like a child's, for the watch list, or the handle of an account
alerts knew by id alone) is queued, written through the store's door (`StoreDoor`, its writer
thread), and only then published on the event stream. A write that fails (a full disk, a
read-only or locked database) is not the
end of the evidence: the sighting stays queued, in order, and is written again a little
later, for as long as it takes; the log says so once per outage, and `/api/stats` counts
what waits (`unsaved`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sentinelle.proxy.feeds.attribution import AccountNamed
from sentinelle.proxy.feeds.gone import Gone
from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.alerts.events import RETURN, TAKEDOWN, Events
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from sentinelle.server.words import came_back, why_gone

logger = logging.getLogger("sentinelle")
T = TypeVar("T")

# After a failed write, the first new try comes this soon, then twice as late each time,
# up to the longest wait: a full disk freed by the parent is noticed within half a minute.
FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 30.0
# What a write that cannot succeed now raises: the disk (OSError: full, read-only, gone)
# or the database (sqlite3: full, locked, read-only, I/O error).
WRITE_FAILURES = (OSError, sqlite3.Error)


class Backlog(Generic[T]):
    """What must reach the store in order and never be dropped for a failure the disk may mend:
    each item added is handed to `write` (which goes through the store's door), one after the
    other. A write the disk refuses (`WRITE_FAILURES`) is tried again, a little later each time,
    for as long as it takes, and the log says so once per outage (`failing`, with the error;
    then `recovered`); an item that can never be written (a bug) is logged (`broken`) and
    dropped, so that it does not hold the others. The recorder's sightings and the notifier's
    notes (server/notify/sender.py) wait in one each."""

    def __init__(self, write: Callable[[T], Awaitable[None]], *, failing: str, recovered: str, broken: str) -> None:
        self._write, self._failing, self._recovered, self._broken = write, failing, recovered, broken
        self._items: collections.deque[T] = collections.deque()
        self._writing: asyncio.Task | None = None
        self.failing = False  # the last write failed; cleared by the next one that succeeds

    def add(self, item: T) -> None:
        self._items.append(item)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write_all())

    def __len__(self) -> int:
        return len(self._items)

    async def flush(self) -> None:
        """Wait until everything added so far is written (tests, and stopping)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    async def _write_all(self) -> None:
        wait = FIRST_RETRY_SECONDS
        while self._items:
            try:
                await self._write(self._items[0])
            except WRITE_FAILURES as e:
                if not self.failing:
                    logger.error(self._failing, e)
                self.failing = True
                await asyncio.sleep(wait)
                wait = min(wait * 2, LONGEST_RETRY_SECONDS)
                continue
            except Exception:  # an item the store can never take (a bug): it must not hold the others
                logger.exception(self._broken)
                self._items.popleft()
                continue
            self._items.popleft()
            if self.failing:
                logger.warning(self._recovered)
                self.failing, wait = False, FIRST_RETRY_SECONDS


class AlertRecorder:
    """The watcher's `record`, `watch` and `named`: sightings, look-alike accounts and accounts
    named at last to the store, in order, never dropped; then to `events`."""

    def __init__(self, store: StoreDoor, events: Events) -> None:
        self._store, self._events = store, events
        self._unsaved: Backlog[Sighting | Lookalike | AccountNamed | Gone] = Backlog(
            self._write,
            failing="Sentinelle cannot write an alert's evidence (%s): it is kept in memory and written as soon "
                    "as the disk allows; free some space.",
            recovered="Sentinelle: the evidence could be written again.",
            broken="Sentinelle saw a protected photo but could not record it")

    def __call__(self, sighting: Sighting) -> None:
        self._unsaved.add(sighting)

    def watch(self, lookalike: Lookalike) -> None:
        """An account whose name looks like a child's: to the watch list. In the same queue as
        the sightings, so that the account is on the list before its photos are recorded."""
        self._unsaved.add(lookalike)

    def named(self, named: AccountNamed) -> None:
        """A feed tied an account's id to its handle: its alerts known by the id alone say who. In
        the same queue as the sightings, so that the sighting is in the store before it is named."""
        self._unsaved.add(named)

    def gone(self, gone: Gone) -> None:
        """A reported account's profile answered that it is gone: to its case, as a takedown."""
        self._unsaved.add(gone)

    @property
    def unsaved(self) -> int:
        """Sightings (and look-alike accounts) seen and not yet in the store."""
        return len(self._unsaved)

    @property
    def failing(self) -> bool:
        """The last write failed; cleared by the next one that succeeds."""
        return self._unsaved.failing

    async def flush(self) -> None:
        """Wait until everything queued so far is written (tests, and stopping)."""
        await self._unsaved.flush()

    async def _write(self, item: Sighting | Lookalike | AccountNamed | Gone) -> None:
        if isinstance(item, Lookalike):
            await self._write_lookalike(item)
        elif isinstance(item, AccountNamed):
            await self._write_named(item)
        elif isinstance(item, Gone):
            await self._write_gone(item)
        else:
            await self._write_sighting(item)

    async def _write_sighting(self, sighting: Sighting) -> None:
        alert, is_new = await self._store.write(Store.record_sighting, sighting)
        self._events.publish("alert" if is_new else "sighting", alert)
        if is_new:
            logger.warning("Sentinelle: a protected photo (%s) was seen on %s — alert #%d%s",
                           alert["photo_name"], alert["platform"], alert["id"],
                           " (impersonation)" if alert["kind"] == "impersonation" else "")
            if alert["account"]:
                await self._publish_return(alert["platform"], alert["account"])

    async def _write_named(self, named: AccountNamed) -> None:
        for alert_id in await self._store.write(Store.name_account, named):
            alert = await self._store.read(Store.alert, alert_id)
            assert alert is not None  # written: the reader sees it
            # Named, it may be an account that pretends to be her: that is news; a name alone is not.
            self._events.publish("alert" if alert["kind"] == "impersonation" else "sighting", alert)
            logger.info("Sentinelle: alert #%d was posted by @%s (%s named it)", alert_id, named.account, named.platform)

    async def _write_lookalike(self, lookalike: Lookalike) -> None:
        entry, is_new, upgraded = await self._store.write(Store.record_lookalike, lookalike)
        if is_new:
            self._events.publish("watch", entry)
            logger.warning("Sentinelle: an account on %s looks like %s (@%s) — on the watch list",
                           entry["platform"], entry["child"], entry["handle"])
        for alert_id in upgraded:  # her photos were seen on it before its name was: now an impersonation
            alert = await self._store.read(Store.alert, alert_id)
            assert alert is not None  # written: the reader sees it
            self._events.publish("alert", alert)
        if is_new:
            await self._publish_return(entry["platform"], entry["handle"])

    async def _write_gone(self, gone: Gone) -> None:
        event = await self._store.write(Store.record_takedown, gone)
        if event is not None:  # else not reported, or known to be gone already
            self._events.publish(TAKEDOWN, event)
            logger.warning("Sentinelle: @%s, which you reported, is gone from %s (%s) — kept in its case",
                           event["handle"], event["platform"], why_gone(event["detail"]))

    async def _publish_return(self, platform: str, handle: str) -> None:
        """A new account noted as a return (server/store/cases.py): said as such."""
        if (event := await self._store.read(Store.return_of, platform, handle)) is not None:
            self._events.publish(RETURN, event)
            logger.warning("Sentinelle: %s on %s", came_back(event), platform)
