"""The notifier: news to the outbox, and the outbox to the parent's channels, off the proxy's
and the store's threads.

It listens to `Events`. An event the parent is told of (server/notify/news.py `note_of`)
becomes a note, queued in the store's outbox for every channel, in order and never dropped: a
note the disk refuses waits in memory and is written again (a `Backlog`, as the recorder's
sightings). Its background task (`run`, started by the composition root) reads the outbox, and
for each channel sends what `timing.plan` says is due as one message, in a thread of its own
(Apprise is synchronous and waits on the network), then writes what became of it: sent, or
failed, with the reason and the next try. A restart finds the outbox as it was left; a
message that reached a channel just before a crash, not yet marked sent, goes again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from datetime import datetime, tzinfo

from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.recorder import WRITE_FAILURES, Backlog
from sentinelle.server.notify import channels
from sentinelle.server.notify.news import KINDS, Note, compose, note_of
from sentinelle.server.notify.timing import Clock, Hours, plan, retry_in
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store

logger = logging.getLogger("sentinelle")

# Channels sent to at once: one slow service must not hold the others' messages.
SENDING_THREADS = 2


class Notifier:
    """Tells the parent, through the channels in the store, of what `events` says. `clock`: the
    time it reads and naps by (tests set theirs); `tz`: the zone of the parent's hours (None:
    the PC's)."""

    def __init__(self, store: StoreDoor, events: Events, *, clock: Clock | None = None,
                 tz: tzinfo | None = None) -> None:
        self._store, self._clock, self._tz = store, clock or Clock(), tz
        self._heard: Backlog[Note] = Backlog(
            self._queue,
            failing="Sentinelle cannot write what the parent is to be told (%s): it is kept in memory and "
                    "written as soon as the disk allows.",
            recovered="Sentinelle: what the parent is to be told could be written again.",
            broken="Sentinelle could not queue a message for the parent")
        self._woken = asyncio.Event()
        self._sending = concurrent.futures.ThreadPoolExecutor(SENDING_THREADS, thread_name_prefix="sentinelle-notify")
        events.listen(self._hear)

    # -- news to the outbox --------------------------------------------------------------

    def _hear(self, event: str, record: dict) -> None:
        if (note := note_of(event, record, self._clock.now())) is not None:
            self._heard.add(note)

    @property
    def unqueued(self) -> int:
        """Notes heard and not yet in the outbox."""
        return len(self._heard)

    async def flush(self) -> None:
        """Wait until every note heard so far is in the outbox (tests, and stopping)."""
        await self._heard.flush()

    async def _queue(self, note: Note) -> None:
        await self._store.write(Store.queue_note, note.key, note.plain_key, note.kind, note.child, note.network,
                                note.account, note.queued_at)
        self.poke()

    # -- the outbox to the channels ----------------------------------------------------------

    def poke(self) -> None:
        """Look at the outbox now: a note was queued, or the channels or the hours changed."""
        self._woken.set()

    async def run(self) -> None:
        """Send what is due, then nap until the next note is due or something changes; forever."""
        while True:
            self._woken.clear()
            try:
                wake = await self.send_due()
            except WRITE_FAILURES as e:  # the database is locked or gone: the outbox waits
                logger.error("Sentinelle cannot read or update its outbox (%s): it tries again.", e)
                wake = None
            except Exception:  # a bug must not stop the parent from hearing of the next alert
                logger.exception("Sentinelle: sending to the parent's channels failed; it tries again")
                wake = None
            await self._clock.nap(wake, self._woken)

    async def send_due(self) -> datetime | None:
        """Send each channel what is due to it now, as one message; returns when something is
        next due (None: nothing waits)."""
        now = self._clock.now()
        hours = Hours.from_store(await self._store.read(Store.notify_hours))
        wakes, sends = [], []
        for channel, rows in await self._store.read(Store.outbox):
            notes = [_note(row) for row in rows if row["kind"] in KINDS]
            retry_at = datetime.fromisoformat(channel["next_try_at"]) if channel["next_try_at"] else None
            todo = plan(now, notes, hours, retry_at, self._tz)
            wakes.append(todo.wake)
            if todo.send:
                sends.append(self._send(channel, todo.send))
        wakes += await asyncio.gather(*sends)
        return min((wake for wake in wakes if wake is not None), default=None)

    async def _send(self, channel: dict, notes: list[Note]) -> datetime | None:
        """One message to one channel; returns when to try again if it failed."""
        message = compose(notes, channel["details"])
        loop = asyncio.get_running_loop()
        reason = await loop.run_in_executor(self._sending, channels.send, channel["url"], message)
        at = self._clock.now()
        if reason is None:
            ids = []
            for note in notes:
                assert note.id is not None  # read from the outbox (_note): its row's id
                ids.append(note.id)
            await self._store.write(Store.notes_sent, channel["id"], ids, at)
            if channel["failures"]:
                logger.warning("Sentinelle: %s (%s) works again; what waited was sent.", channel["name"], channel["shown"])
            return None
        next_try = at + retry_in(channel["failures"] + 1)
        await self._store.write(Store.sending_failed, channel["id"], at, reason, next_try)
        if not channel["failures"]:
            logger.error("Sentinelle could not tell the parent through %s (%s): %s. It tries again, less and "
                         "less often; `sentinelle notify list` says how it goes.", channel["name"], channel["shown"], reason)
        return next_try

    def close(self) -> None:
        """Stop sending: a message on its way in a thread is left to finish on its own (it is
        sent again at the next start, its notes not marked sent)."""
        self._sending.shutdown(wait=False, cancel_futures=True)


def _note(row: dict) -> Note:
    return Note(kind=row["kind"], key=row["key"], child=row["child"], network=row["network"],
                account=row["account"], queued_at=datetime.fromisoformat(row["queued_at"]), id=row["id"])
