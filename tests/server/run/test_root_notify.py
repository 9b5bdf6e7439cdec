"""server/run/root.py: the composition root runs the notifier; what the parent was to be told
when Sentinelle stopped goes at the next start, once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime

from sentinelle.server.notify.channels import check
from sentinelle.server.run.root import Sentinelle
from sentinelle.server.settings import Settings
from sentinelle.server.store.records import Store
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by
from tests.support.clock import FakeClock
from tests.support.receivers import HttpReceiver

MORNING = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


async def test_a_sighting_just_before_a_stop_reaches_the_parent_after_the_restart(data_dir):
    receiver = await HttpReceiver().start()
    settings = Settings(data_dir, api_port=0, workers=1)
    first = Sentinelle(settings, clock=FakeClock(MORNING))
    try:
        await first.start()
        url = receiver.url()
        await first.store.write(Store.add_channel, "phone", url, check(url), False, MORNING)
        photo = await first.store.write(enroll, 5, "Alice Dupont")
        first.recorder(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/1.jpg"),
                               attribution=posted_by("fake.account.123")))
        await first.recorder.flush()
        # News heard as the stop begins, not yet written: the stop writes it.
        first.events.publish("alert", {"id": 99, "kind": "copy", "child": "Alice Dupont", "platform": "tiktok"})
    finally:
        await first.close()  # within the burst's minute: nothing sent yet, the notes kept
    assert receiver.received == []
    second = Sentinelle(settings, clock=FakeClock(datetime(2026, 12, 7, 8, 5, tzinfo=UTC)))
    try:
        await second.start()
        deadline = time.monotonic() + 20
        while not receiver.received:
            assert time.monotonic() < deadline, "the message never came"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await second.close()
        await receiver.stop()
    assert [r.message()["message"] for r in receiver.received] == [
        "2 copies of Alice's photos were seen on Instagram and TikTok. Open Sentinelle on the family PC."]
