"""server/notify/sender.py with real parts: the store behind its door, the recorder and its
events, Apprise, and real receivers on 127.0.0.1 (an HTTP server for `json://` and `form://`,
aiosmtpd for `mailto://`); only the clock is the test's."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sentinelle.server.alerts.events import Events
from sentinelle.server.alerts.recorder import AlertRecorder
from sentinelle.server.notify.sender import Notifier
from sentinelle.server.store.door import StoreDoor
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.server.alerts.test_recorder import longest_stall_while
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by
from tests.server.store.test_watchlist import lookalike
from tests.support.clock import FakeClock
from tests.support.receivers import HttpReceiver, SmtpReceiver

PARIS = ZoneInfo("Europe/Paris")
MORNING = datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)
HANDLE = "fake.account.123"
IMAGE = square_crop_copy(kodak(5))


class Family:
    """What a running Sentinelle wires (server/run/root.py): store, events, recorder, notifier."""

    def __init__(self, data_dir, clock: FakeClock) -> None:
        self.data_dir, self.clock = data_dir, clock
        self.db = StoreDoor(data_dir)
        self.events = Events()
        self.recorder = AlertRecorder(self.db, self.events)
        self.notifier = Notifier(self.db, self.events, clock=clock, tz=PARIS)
        self.sending = asyncio.create_task(self.notifier.run())

    async def add_channel(self, url: str, details: bool = False, name: str = "phone") -> dict:
        from sentinelle.server.notify.channels import check

        return await self.db.write(Store.add_channel, name, url, check(url), details, self.clock.now())

    async def see(self, *sightings) -> None:
        for s in sightings:
            self.recorder(s)
        await self.recorder.flush()
        await self.notifier.flush()

    async def close(self) -> None:
        self.sending.cancel()
        self.notifier.close()
        self.db.close()


@pytest.fixture
async def family(data_dir):
    data_dir.mkdir()
    family = Family(data_dir, FakeClock(MORNING))
    yield family
    await family.close()


@pytest.fixture
async def http():
    receiver = await HttpReceiver().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def smtp():
    receiver = await SmtpReceiver().start()
    yield receiver
    await receiver.stop()


async def until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "still not so"
        await asyncio.sleep(0.02)
    return value


async def settle() -> None:
    """Long enough for the notifier to have looked at its outbox a few times (it naps 20 ms)."""
    await asyncio.sleep(0.3)


def attributed(photo_id: int, image: str, handle: str = HANDLE, body: bytes = IMAGE):
    return replace(sighting(photo_id, f"https://scontent.cdninstagram.com/v/{image}.jpg", body=body),
                   attribution=replace(posted_by(handle), post_url=f"https://www.instagram.com/p/{image}/"))


async def test_an_alert_reaches_the_phone_and_the_mailbox_once_and_says_little(family, http, smtp):
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url("json"))
    await family.add_channel(smtp.url(), name="mail")
    await family.see(attributed(photo["id"], "a"), attributed(photo["id"], "a2"), attributed(photo["id"], "a3"))
    assert len(await family.db.read(Store.alerts)) == 1  # three sightings, one alert
    await settle()
    assert http.received == [] and smtp.received == []  # it waits a minute for the rest of a burst
    family.clock.advance(seconds=61)
    await until(lambda: http.received and smtp.received)
    await settle()
    assert len(http.received) == 1 and len(smtp.received) == 1
    sent = http.received[0].message()
    assert (sent["title"], sent["message"]) == (
        "Sentinelle", "A copy of one of Alice's photos was seen on Instagram. Open Sentinelle on the family PC.")
    [mail] = smtp.messages()
    assert mail["Subject"] == "Sentinelle" and mail["To"] == "parent@family.test"
    assert "A copy of one of Alice's photos was seen on Instagram." in mail.get_body(("plain",)).get_content()
    assert not [part for part in mail.walk() if part.get_content_disposition() == "attachment"]


async def test_no_image_byte_and_no_handle_reach_a_channel_without_details(family, http, smtp):
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url("json"), name="plain")
    await family.add_channel(http.url("form", "/detailed"), details=True, name="detailed")
    await family.add_channel(smtp.url(), name="mail")
    await family.see(attributed(photo["id"], "b"))
    family.clock.advance(minutes=2)
    await until(lambda: len(http.received) == 2 and smtp.received)
    plain = next(r for r in http.received if r.path == "/sentinelle")
    detailed = next(r for r in http.received if r.path == "/detailed")
    wire = [plain.body, b"".join(f"{k}: {v}".encode() for k, v in plain.headers.items()), smtp.received[0]]
    private = [HANDLE.encode(), b"cdninstagram", b"instagram.com/p/", b"beach", b"kodim", b"Dupont"]
    for chunk in (IMAGE[:64], IMAGE[len(IMAGE) // 2:len(IMAGE) // 2 + 64], IMAGE[-64:]):
        private += [chunk, base64.b64encode(chunk)[8:72]]
    for sent in wire:
        assert not [p for p in private if p in sent], "what left the PC holds something private"
        assert len(sent) < 4096  # a sentence, not a picture
    # With details, the account is named: the same check would fail there.
    assert HANDLE in detailed.message()["message"] and "http" not in detailed.message()["message"]


async def test_a_copy_that_turns_out_an_impersonation_is_news_only_where_details_say_so(family, http):
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url("json", "/plain"), name="plain")
    await family.add_channel(http.url("json", "/detailed"), details=True, name="detailed")
    await family.see(attributed(photo["id"], "h"))
    family.clock.advance(seconds=61)
    await until(lambda: len(http.received) == 2)
    family.recorder.watch(lookalike(HANDLE, "Alice Dupont"))  # its name turns out to look like hers
    await family.see()
    family.clock.advance(seconds=61)
    await until(lambda: len(http.received) == 3)
    await settle()
    said = [(r.path, r.message()["message"]) for r in http.received]
    assert said[2:] == [("/detailed", "An account that pretends to be Alice showed one of her photos on Instagram: "
                                      f"@{HANDLE}. Open Sentinelle on the family PC.")]
    assert [path for path, _ in said].count("/plain") == 1


async def test_a_burst_of_alerts_is_one_message_that_counts_them(family, http):
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url())
    for n in range(6):
        await family.see(attributed(photo["id"], f"burst-{n}", handle=f"copycat{n}"))
        family.clock.advance(seconds=10)  # six alerts within a minute
    await until(lambda: http.received)
    family.clock.advance(minutes=5)
    await settle()
    assert [r.message()["message"] for r in http.received] == [
        "6 copies of Alice's photos were seen on Instagram. Open Sentinelle on the family PC."]


async def test_a_failing_receiver_that_recovers_gets_the_message_once(family, http):
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url())
    http.mode = "refuse"
    await family.see(attributed(photo["id"], "c"))
    family.clock.advance(seconds=61)
    failing = await until(lambda: family.db.read_now(Store.channel, "phone") if
                          family.db.read_now(Store.channel, "phone")["failures"] else None)
    assert "error=500" in failing["last_error"] and failing["pending"] == 1
    await http.stop()  # now it cannot even be reached
    family.clock.advance(seconds=31)
    await until(lambda: family.db.read_now(Store.channel, "phone")["failures"] == 2)
    failing = family.db.read_now(Store.channel, "phone")
    assert "Connection error" in failing["last_error"]
    family.clock.advance(seconds=30)  # the second wait is a minute: not yet
    await settle()
    assert family.db.read_now(Store.channel, "phone")["failures"] == 2
    http.mode = "ok"
    await http.start()
    family.clock.advance(seconds=31)
    await until(lambda: http.received)
    family.clock.advance(hours=2)
    await settle()
    assert len(http.received) == 1
    recovered = family.db.read_now(Store.channel, "phone")
    assert (recovered["failures"], recovered["pending"], recovered["failing_since"]) == (0, 0, None)


async def test_a_restart_loses_nothing_that_was_due(data_dir, http):
    data_dir.mkdir()
    first = Family(data_dir, FakeClock(MORNING))
    photo = await first.db.write(enroll, 5, "Alice Dupont")
    await first.add_channel(http.url())
    await http.stop()
    await first.see(attributed(photo["id"], "d"))
    first.clock.advance(seconds=61)
    await until(lambda: first.db.read_now(Store.channel, "phone")["failures"])
    await first.close()  # Sentinelle stops with the message undelivered
    await http.start()
    second = Family(data_dir, FakeClock(first.clock.advance(minutes=10)))
    try:
        await until(lambda: http.received)
        await settle()
        assert [r.message()["message"] for r in http.received] == [
            "A copy of one of Alice's photos was seen on Instagram. Open Sentinelle on the family PC."]
    finally:
        await second.close()


async def test_quiet_hours_hold_alerts_and_the_digest_then_send_one_message(family, http):
    await family.db.write(Store.set_notify_hours, {"digest": "23:00", "quiet": ["22:00", "07:00"]})
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url())
    family.clock.moment = datetime(2026, 12, 7, 22, 30, tzinfo=PARIS)
    await family.see(attributed(photo["id"], "e"))
    family.recorder.watch(lookalike("alice.dupont.2013", "Alice Dupont"))
    await family.see()
    for _ in range(8):  # through the night, past the digest's hour, to 06:30
        family.clock.advance(hours=1)
        await settle()
    assert http.received == []
    family.clock.moment = datetime(2026, 12, 8, 7, 0, tzinfo=PARIS)
    await until(lambda: http.received)
    await settle()
    assert [r.message()["message"] for r in http.received] == [
        "A copy of one of Alice's photos was seen on Instagram. An account whose name looks like Alice's was "
        "seen on Instagram. Open Sentinelle on the family PC."]


async def test_the_watch_list_waits_for_the_digests_hour(family, http):
    await family.add_channel(http.url(), details=True)
    family.recorder.watch(lookalike("alice.martin_2014", "Alice Martin"))
    family.recorder.watch(lookalike("alice.martin.officiel", "Alice Martin"))
    await family.see()
    family.clock.moment = datetime(2026, 12, 7, 17, 59, tzinfo=PARIS)
    await settle()
    assert http.received == []
    family.clock.moment = datetime(2026, 12, 7, 18, 0, tzinfo=PARIS)
    await until(lambda: http.received)
    assert http.received[0].message()["message"] == (
        "2 accounts whose names look like Alice's were seen on Instagram: @alice.martin_2014, "
        "@alice.martin.officiel. Open Sentinelle on the family PC.")


async def test_sending_never_holds_the_loop_nor_the_store(family, http):
    photo = await family.db.write(enroll, 5, "Alice Dupont")
    await family.add_channel(http.url())
    http.mode = "hang"  # the receiver takes the request and never answers
    await family.see(attributed(photo["id"], "f"))
    family.clock.advance(seconds=61)
    await settle()  # a message is on its way, stuck

    async def meanwhile():
        for n in range(20):
            await family.see(attributed(photo["id"], f"g{n}", handle=f"other{n}"))

    stall = await longest_stall_while(meanwhile())
    assert stall < 0.05, f"the loop stalled {stall * 1000:.0f} ms while a message hung"
    assert len(await family.db.read(Store.alerts)) == 21
    await http.stop()  # the hung request ends; the message is tried again later


async def test_a_flood_of_events_loses_no_note(family, http):
    await family.add_channel(http.url())
    for n in range(1, 301):  # more than a subscriber's queue holds
        family.events.publish("alert", {"id": n, "kind": "copy", "child": "Alice", "platform": "instagram"})
    await family.notifier.flush()
    assert family.db.read_now(Store.channel, "phone")["pending"] == 300
    family.clock.advance(seconds=61)
    await until(lambda: http.received)
    assert http.received[0].message()["message"].startswith("300 copies of Alice's photos")

