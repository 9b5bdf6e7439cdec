"""When a channel's notes are sent: at once in a burst's one message, in the day's digest, after
quiet hours, or after a failure's backoff. Pure but for the clock.

- An alert is due a minute (`BURST`) after it was seen: the alerts of that minute, and any
  seen since, go as one message that counts them.
- What can wait (the watch list, the daily look) is due at the digest's time of day.
- During quiet hours nothing is sent; what was due goes as one message when they end.
- A channel that failed is tried again after a wait that doubles with each failure, up to an
  hour (`retry_in`), with everything due by then.

Times of day are the PC's local time (`tz` None), daylight saving included.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sentinelle.server.notify.news import Note

BURST = timedelta(minutes=1)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# The sender looks again at least this often: another process (`sentinelle notify`) may have
# changed the channels or the hours, or the PC slept.
LONGEST_NAP = 60.0

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def time_of_day(text: str) -> time:
    """"18:00" → 18:00; ValueError that says what to write otherwise."""
    match = _TIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r}: write a time of day as HH:MM, e.g. 18:00")
    return time(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class Hours:
    """The digest's time of day, and quiet hours (from, until), or None."""

    digest: time = time(18, 0)
    quiet: tuple[time, time] | None = None

    @classmethod
    def from_store(cls, hours: dict) -> Hours:
        """The hours as the store keeps them ({"digest": "HH:MM", "quiet": [from, until] or None})."""
        quiet = hours.get("quiet")
        return cls(time_of_day(hours["digest"]), (time_of_day(quiet[0]), time_of_day(quiet[1])) if quiet else None)

    def as_store(self) -> dict:
        return {"digest": _hhmm(self.digest), "quiet": [_hhmm(t) for t in self.quiet] if self.quiet else None}


def hours_given(changes: dict) -> dict:
    """The hours a parent sets ({"digest": "HH:MM", "quiet": [from, until] or None}, either),
    tidied as the store keeps them; ValueError says what is wrong."""
    hours: dict[str, Any] = {}  # Hours' fields given: a time, or quiet hours (from, until) or None
    if "digest" in changes:
        hours["digest"] = time_of_day(changes["digest"])
    if "quiet" in changes:
        quiet = changes["quiet"]
        if quiet is not None and (not isinstance(quiet, list | tuple) or len(quiet) != 2):
            raise ValueError('quiet hours: ["22:00", "07:00"] (from, until), or none')
        hours["quiet"] = (time_of_day(quiet[0]), time_of_day(quiet[1])) if quiet else None
    return {k: v for k, v in Hours(**hours).as_store().items() if k in hours}


def said(hours: dict) -> str:
    """The hours as a parent reads them."""
    return (f"What can wait (the watch list): every day at {hours['digest']}. "
            + (f"Quiet hours: {hours['quiet'][0]} to {hours['quiet'][1]}." if hours["quiet"] else "No quiet hours."))


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def next_time(moment: datetime, at: time, tz: tzinfo | None = None) -> datetime:
    """The first moment at or after `moment` when the clock on the wall says `at`."""
    day = moment.astimezone(tz).date()
    candidate = _on(day, at, tz)
    return candidate if candidate >= moment else _on(day + timedelta(days=1), at, tz)


def _on(day: date, at: time, tz: tzinfo | None) -> datetime:
    """The moment, in UTC (arithmetic within one zone would skip daylight saving's hour)."""
    naive = datetime.combine(day, at)
    return (naive if tz is None else naive.replace(tzinfo=tz)).astimezone(UTC)  # naive: the PC's own zone


def due(note: Note, hours: Hours, tz: tzinfo | None = None) -> datetime:
    """When a note is due, quiet hours aside."""
    return note.queued_at + BURST if note.at_once else next_time(note.queued_at, hours.digest, tz)


def quiet_until(moment: datetime, hours: Hours, tz: tzinfo | None = None) -> datetime | None:
    """When the quiet hours `moment` falls in end; None outside them."""
    if hours.quiet is None or hours.quiet[0] == hours.quiet[1]:
        return None
    start, end = hours.quiet
    now = moment.astimezone(tz).time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    return next_time(moment, end, tz) if inside else None


def retry_in(failures: int) -> timedelta:
    """How long a channel that failed `failures` times in a row waits before the next try."""
    return min(FIRST_RETRY * 2 ** max(failures - 1, 0), LONGEST_RETRY)


@dataclass(frozen=True)
class Plan:
    """The notes to send now as one message (maybe none), and when to look again (None: no
    note waits)."""

    send: list[Note]
    wake: datetime | None


def plan(now: datetime, notes: list[Note], hours: Hours, retry_at: datetime | None = None,
         tz: tzinfo | None = None) -> Plan:
    """What a channel sends now: once a note is due (and the channel is not waiting after a
    failure, nor are these quiet hours), every alert waiting and whatever else is due."""
    if not notes:
        return Plan([], None)
    if retry_at is not None and now < retry_at:
        return Plan([], retry_at)
    when = {id(note): due(note, hours, tz) for note in notes}
    if min(when.values()) > now:
        return Plan([], min(when.values()))
    if (end := quiet_until(now, hours, tz)) is not None:
        return Plan([], end)
    now_due = [note.at_once or when[id(note)] <= now for note in notes]
    later = [when[id(note)] for note, go in zip(notes, now_due, strict=True) if not go]
    return Plan([note for note, go in zip(notes, now_due, strict=True) if go], min(later) if later else None)


class Clock:
    """The time, and a nap until a moment or until woken. Tests set their own (tests/support/clock.py)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def nap(self, until: datetime | None, woken: asyncio.Event) -> None:
        """Return at `until` (at the latest after LONGEST_NAP), or as soon as `woken` is set."""
        seconds = LONGEST_NAP if until is None else (until - self.now()).total_seconds()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), min(max(seconds, 0.0), LONGEST_NAP))
