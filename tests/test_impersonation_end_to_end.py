"""Accounts that pretend to be her, through the real proxy: a search-results response shows a
look-alike account wearing her photo as its profile picture (an impersonation alert, with a
notification event), another look-alike without her photos (the watch list, no alert), her
own account and a stranger (nothing).

A fake Instagram (site and CDN) serves HTTPS on 127.0.0.1; the client goes through a real
`sentinelle run`, and reads the event stream as the extension does.
"""

from __future__ import annotations

import asyncio
import json

from PIL import Image

from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support.certs import make_origin_certs
from tests.support.origin import serve_origin
from tests.support.scenario import CDN, read_events, wait_for
from tests.support.watcher import Watcher, sentinelle

SITE = "www.instagram.com"
SEARCH = "/api/v1/web/search/topsearch/?query=alice%20martin"


def search_results(*users: tuple[str, str, str]) -> bytes:
    """Instagram's top-search shape (docs/feed-shapes.md: `users[].user`), one entry per
    (username, full name, picture path)."""
    return json.dumps({"users": [
        {"position": i, "user": {"pk": str(1000 + i), "username": username, "full_name": full_name,
                                 "is_private": False, "profile_pic_url": f"https://{CDN}{picture}?stp=dst-jpg_s150x150&oh=00_A"}}
        for i, (username, full_name, picture) in enumerate(users)], "places": [], "hashtags": [], "status": "ok"}).encode()


async def test_a_look_alike_wearing_her_photo_is_an_impersonation_and_one_without_waits_on_the_watch_list(tmp_path, data_dir):
    sentinelle(data_dir, "child", "set", "Alice Martin", "--handle", "instagram:alice_mrtn")
    sentinelle(data_dir, "enroll", "--child", "Alice Martin", str(kodak(5)))
    her_photo = square_crop_copy(kodak(5), width=320)
    stranger = jpeg_bytes(Image.open(kodak(20)).resize((320, 213)))
    files = {
        SEARCH.split("?")[0]: ("application/json; charset=utf-8", search_results(
            ("alice.martin.2014", "Alice Martin", "/v/t51.2885-19/501_1_2_n.jpg"),  # her name, her photo
            ("real_alicemrtn", "Ali", "/v/t51.2885-19/502_1_2_n.jpg"),  # her handle dressed up, a stranger's picture
            ("alice_mrtn", "Alice Martin", "/v/t51.2885-19/503_1_2_n.jpg"),  # her own account
            ("chloe.bernard", "Chloé Bernard", "/v/t51.2885-19/504_1_2_n.jpg"),
        )),
        "/v/t51.2885-19/501_1_2_n.jpg": ("image/jpeg", her_photo),
        "/v/t51.2885-19/502_1_2_n.jpg": ("image/jpeg", stranger),
        "/v/t51.2885-19/503_1_2_n.jpg": ("image/jpeg", her_photo),
        "/v/t51.2885-19/504_1_2_n.jpg": ("image/jpeg", stranger),
    }
    certs = make_origin_certs(tmp_path / "origin", [CDN, SITE])
    async with serve_origin(certs, files) as origin:
        watcher = await asyncio.to_thread(Watcher, data_dir, {CDN: origin.port, SITE: origin.port}, certs.ca_file)
        events: list[tuple[str, dict]] = []
        connected = asyncio.Event()
        reader = asyncio.create_task(read_events(
            f"http://127.0.0.1:{watcher.api_port}/api/events", watcher.token, events, connected))

        def images() -> dict:
            return watcher.api("GET", "/api/stats")[1]["images"]

        try:
            await asyncio.wait_for(connected.wait(), 20)
            # The parent searches for her name; the browser gets the results, then the pictures,
            # at another size than the one the results name.
            got = await asyncio.to_thread(watcher.fetch, SITE, SEARCH)
            assert got.status == 200
            await wait_for(lambda: images()["reading"] == 0)
            for n in (501, 502, 503, 504):
                picture = await asyncio.to_thread(
                    watcher.fetch, CDN, f"/v/t51.2885-19/{n}_1_2_n.jpg?stp=dst-jpg_s320x320&oh=00_B",
                    headers={"Referer": f"https://{SITE}/"})
                assert picture.status == 200
            await wait_for(lambda: images()["checked"] == 4 and images()["waiting"] == 0)
            await wait_for(lambda: images()["unsaved"] == 0)

            # Her own account wears her photo too: a copy, never an impersonation.
            _, alerts = await asyncio.to_thread(watcher.api, "GET", "/api/alerts")
            by_account = {a["account"]: a for a in alerts}
            assert set(by_account) == {"alice.martin.2014", "alice_mrtn"}
            impersonation = by_account["alice.martin.2014"]
            assert (impersonation["kind"], impersonation["shown_as"]) == ("impersonation", "profile_picture")
            assert impersonation["resemblance"] == {"child": "Alice Martin", "field": "handle", "what": "full name"}
            assert impersonation["display_name"] == "Alice Martin"
            assert by_account["alice_mrtn"]["kind"] == "copy"

            _, watchlist = await asyncio.to_thread(watcher.api, "GET", "/api/watchlist")
            assert {(e["handle"], e["status"], e["what"]) for e in watchlist} == {
                ("alice.martin.2014", "impersonation", "full name"), ("real_alicemrtn", "open", "own handle")}
            waiting = next(e for e in watchlist if e["handle"] == "real_alicemrtn")
            assert waiting["profile_url"] == "https://www.instagram.com/real_alicemrtn/"
            assert waiting["feed_url"] == f"https://{SITE}{SEARCH}"

            # What the extension hears: each look-alike once on the watch list (no notification
            # comes of a "watch" event), one "alert" for the impersonation, one for her own account.
            await wait_for(lambda: sum(kind == "alert" for kind, _ in events) == 2)
            watched = [data["handle"] for kind, data in events if kind == "watch"]
            assert sorted(watched) == ["alice.martin.2014", "real_alicemrtn"]
            alerted = {data["account"]: data["kind"] for kind, data in events if kind == "alert"}
            assert alerted == {"alice.martin.2014": "impersonation", "alice_mrtn": "copy"}
        finally:
            reader.cancel()
            code = await asyncio.to_thread(watcher.stop)
    _, err = watcher.output
    assert code == 0 and "Traceback" not in err, err
    # Of the accounts that look like no one, nothing was kept.
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"chloe.bernard" not in path.read_bytes(), path
