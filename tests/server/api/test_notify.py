"""server/api/notify.py: the parent's channels over HTTP, on a real store, with Apprise sending to
a real receiver on 127.0.0.1. A channel's URL goes in and never comes out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sentinelle.server.notify.news import TEST
from tests.server.api.conftest import AUTH
from tests.support.receivers import HttpReceiver

TOKEN_IN_URL = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TELEGRAM = f"tgram://123456789:{TOKEN_IN_URL}/987654321"


@pytest.fixture
async def receiver():
    receiver = await HttpReceiver().start()
    yield receiver
    await receiver.stop()


async def test_a_channel_is_added_listed_masked_and_removed(api):
    response = await api.post("/api/notify/channels", headers=AUTH, json={"url": TELEGRAM})
    assert response.status == 201, await response.text()
    added = await response.json()
    assert (added["name"], added["shown"], added["details"], added["failures"]) == (
        "telegram", "tgram://1...w/9...1", False, 0)
    listed = await api.get("/api/notify", headers=AUTH)
    body = await listed.text()
    assert TOKEN_IN_URL not in body and "987654321" not in body
    assert (await listed.json())["hours"] == {"digest": "18:00", "quiet": None}
    assert api.store.channel_url(added["id"]) == TELEGRAM
    patched = await api.patch(f"/api/notify/channels/{added['id']}", headers=AUTH, json={"details": True})
    assert (await patched.json())["details"] is True
    removed = await api.delete(f"/api/notify/channels/{added['id']}", headers=AUTH)
    assert removed.status == 200 and TOKEN_IN_URL not in await removed.text()
    assert (await (await api.get("/api/notify", headers=AUTH)).json())["channels"] == []
    assert (await api.delete(f"/api/notify/channels/{added['id']}", headers=AUTH)).status == 404


async def test_a_wrong_channel_is_refused_with_what_to_send(api):
    for body, why in (({}, "url"), ({"url": ""}, "url"), ({"url": "bogus://x"}, "no service Apprise knows"),
                      ({"url": "tgram://short"}, "missing or wrong"), ({"url": "ntfy://t", "name": " "}, "name"),
                      ({"url": "ntfy://t", "details": "yes"}, "details")):
        response = await api.post("/api/notify/channels", headers=AUTH, json=body)
        assert response.status == 400 and why in (await response.json())["error"], body
    assert (await api.post("/api/notify/channels", headers=AUTH, data="not json")).status == 400
    await api.post("/api/notify/channels", headers=AUTH, json={"url": "ntfy://a-topic", "name": "phone"})
    again = await api.post("/api/notify/channels", headers=AUTH, json={"url": "ntfy://b-topic", "name": "phone"})
    assert again.status == 400 and "already named" in (await again.json())["error"]
    assert (await api.patch("/api/notify/channels/99", headers=AUTH, json={"details": True})).status == 404
    assert (await api.patch("/api/notify/channels/1", headers=AUTH, json={"details": 1})).status == 400
    assert (await api.post("/api/notify/channels", json={"url": TELEGRAM})).status == 401


async def test_test_sends_now_and_says_why_it_failed(api, receiver):
    url = receiver.url("json", "/hooks/private-hook")
    added = await (await api.post("/api/notify/channels", headers=AUTH, json={"url": url, "name": "hook"})).json()
    api.store.sending_failed(added["id"], datetime.now(UTC), "Connection refused", datetime.now(UTC))
    sent = await api.post(f"/api/notify/channels/{added['id']}/test", headers=AUTH)
    assert sent.status == 200 and await sent.json() == {"sent": True}
    assert [r.message()["message"] for r in receiver.received] == [TEST.body]
    works = api.store.channel(added["id"])
    assert (works["next_try_at"], works["failures"]) == (None, 0) and works["last_sent_at"]  # what waited goes at once
    receiver.mode = "refuse"
    failed = await api.post(f"/api/notify/channels/{added['id']}/test", headers=AUTH)
    reason = (await failed.json())["error"]
    assert failed.status == 502 and "error=500" in reason and "private-hook" not in reason
    assert (await api.post("/api/notify/channels/99/test", headers=AUTH)).status == 404


async def test_the_hours_are_set_and_a_wrong_one_is_refused(api):
    response = await api.put("/api/notify/hours", headers=AUTH, json={"digest": "7:30", "quiet": ["22:00", "07:00"]})
    assert await response.json() == {"digest": "07:30", "quiet": ["22:00", "07:00"]}
    response = await api.put("/api/notify/hours", headers=AUTH, json={"quiet": None})
    assert await response.json() == {"digest": "07:30", "quiet": None}
    for wrong in ({"digest": "25:00"}, {"quiet": ["22:00"]}, {"quiet": "22-7"}, {"digest": 7}):
        response = await api.put("/api/notify/hours", headers=AUTH, json=wrong)
        said = (await response.json())["error"]
        assert response.status == 400 and ("HH:MM" in said or "from, until" in said), wrong
    assert api.store.notify_hours() == {"digest": "07:30", "quiet": None}

