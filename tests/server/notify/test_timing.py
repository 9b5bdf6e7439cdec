"""server/notify/timing.py: when a channel's notes go — a burst as one message, the day's
digest, quiet hours, retries — on the parent's wall clock, daylight saving included."""

from __future__ import annotations

import time as systime
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sentinelle.server.notify.news import note_of
from sentinelle.server.notify.timing import (
    Hours,
    Plan,
    hours_given,
    next_time,
    plan,
    quiet_until,
    retry_in,
    time_of_day,
)

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    """A moment on a Paris wall clock: "2026-12-07 09:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def copy(alert_id: int, when: datetime):
    return note_of("alert", {"id": alert_id, "kind": "copy", "child": "Alice", "platform": "instagram"}, when)


def watched(entry_id: int, when: datetime):
    return note_of("watch", {"id": entry_id, "child": "Alice", "platform": "instagram", "handle": "a"}, when)


def test_an_alert_waits_a_minute_for_its_burst_then_all_its_burst_goes_as_one():
    first, second = copy(1, at("2026-12-07 09:00:00")), copy(2, at("2026-12-07 09:00:50"))
    hours = Hours()
    assert plan(at("2026-12-07 09:00:30"), [first], hours, tz=PARIS) == Plan([], at("2026-12-07 09:01:00"))
    sent = plan(at("2026-12-07 09:01:00"), [first, second], hours, tz=PARIS)
    assert sent.send == [first, second] and sent.wake is None  # the second, though younger, goes with it


def test_what_can_wait_goes_at_the_digest_hour_with_any_alert_due():
    entry = watched(1, at("2026-12-07 19:30"))
    hours = Hours(digest=time(18, 0))
    assert plan(at("2026-12-07 19:31"), [entry], hours, tz=PARIS).wake == at("2026-12-08 18:00")
    alert = copy(2, at("2026-12-08 09:00"))
    morning = plan(at("2026-12-08 09:01"), [entry, alert], hours, tz=PARIS)
    assert morning.send == [alert] and morning.wake == at("2026-12-08 18:00")  # the digest stays for its hour
    evening = plan(at("2026-12-08 18:00"), [entry], hours, tz=PARIS)
    assert evening.send == [entry] and evening.wake is None


def test_quiet_hours_hold_everything_then_it_goes_as_one_message():
    hours = Hours(digest=time(23, 0), quiet=(time(22, 0), time(7, 0)))
    held = [copy(1, at("2026-12-07 22:30")), watched(2, at("2026-12-07 20:00")), copy(3, at("2026-12-08 03:10"))]
    assert plan(at("2026-12-08 03:11:30"), held, hours, tz=PARIS) == Plan([], at("2026-12-08 07:00"))
    assert plan(at("2026-12-08 07:00"), held, hours, tz=PARIS).send == held
    assert quiet_until(at("2026-12-07 21:59"), hours, PARIS) is None
    assert quiet_until(at("2026-12-07 22:00"), hours, PARIS) == at("2026-12-08 07:00")
    day = Hours(quiet=(time(13, 0), time(14, 30)))  # a nap, within one day
    assert quiet_until(at("2026-12-07 13:15"), day, PARIS) == at("2026-12-07 14:30")
    assert quiet_until(at("2026-12-07 14:30"), day, PARIS) is None
    assert quiet_until(at("2026-12-07 12:00"), Hours(quiet=(time(9, 0), time(9, 0))), PARIS) is None


def test_the_digest_keeps_its_hour_across_daylight_saving():
    # Paris leaves summer time on 2026-10-25: 18:00 is 16:00 UTC before, 17:00 UTC after.
    before = next_time(at("2026-10-23 19:00"), time(18, 0), PARIS)
    after = next_time(before + timedelta(minutes=1), time(18, 0), PARIS)
    assert before.astimezone(UTC).hour == 16 and after.astimezone(UTC).hour == 17
    assert after.astimezone(PARIS).hour == 18 and (after - before) == timedelta(hours=25)


@pytest.mark.skipif(not hasattr(systime, "tzset"), reason="time.tzset is Unix's")
def test_without_a_zone_the_hours_are_the_pcs_own(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    systime.tzset()
    try:
        due = next_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), time(18, 0))
        assert due == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        systime.tzset()


def test_a_failing_channel_waits_longer_each_time_up_to_an_hour():
    assert [retry_in(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]
    note = copy(1, at("2026-12-07 09:00"))
    assert plan(at("2026-12-07 09:05"), [note], Hours(), retry_at=at("2026-12-07 09:06"), tz=PARIS) == Plan(
        [], at("2026-12-07 09:06"))
    assert plan(at("2026-12-07 09:06"), [note], Hours(), retry_at=at("2026-12-07 09:06"), tz=PARIS).send == [note]


def test_hours_as_the_parent_writes_them():
    assert time_of_day(" 7:05") == time(7, 5)
    for wrong in ("24:00", "7h", "", "18:60", None):
        with pytest.raises(ValueError, match="HH:MM"):
            time_of_day(wrong)
    assert hours_given({"digest": "7:30", "quiet": ["22:00", "7:00"]}) == {"digest": "07:30", "quiet": ["22:00", "07:00"]}
    assert hours_given({"quiet": None}) == {"quiet": None}
    with pytest.raises(ValueError, match="from, until"):
        hours_given({"quiet": ["22:00"]})
    assert Hours.from_store({"digest": "19:00", "quiet": ["22:00", "07:00"]}) == Hours(time(19), (time(22), time(7)))
