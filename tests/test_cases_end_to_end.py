"""One case from the first fake account to the last, through the real proxy: an account wearing
her photo raises an alert; the parent reports it (`sentinelle reported`) and the timeline shows
it; its profile then answers "not available" through the proxy: taken down, with the page kept;
a second account shows the same photo: a return, in the same case, and said so on the event
stream; the case file's PDF leads with a timeline naming both handles in order, `verify`
passes, and the case is all there after a restart.

A fake Instagram (site and CDN) serves HTTPS on 127.0.0.1; the client goes through a real
`sentinelle run`, and reads the event stream as the extension does.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

from tests.conftest import kodak, square_crop_copy
from tests.support.certs import make_origin_certs
from tests.support.origin import serve_origin
from tests.support.scenario import CDN, read_events, wait_for
from tests.support.watcher import Watcher, sentinelle
from tests.test_impersonation_end_to_end import SEARCH, SITE, search_results

PICTURE = "/v/t51.2885-19/{}_1_2_n.jpg"
PROFILE = "/alice.martin.2014/"


def case_of(data_dir) -> dict:
    [case] = [json.loads(line) for line in sentinelle(data_dir, "case", "Alice Martin", "--json").stdout.splitlines()]
    return case


async def test_reported_taken_down_and_back_again_is_one_case(tmp_path, data_dir):
    sentinelle(data_dir, "child", "set", "Alice Martin")
    sentinelle(data_dir, "enroll", "--child", "Alice Martin", str(kodak(5)))
    her_photo = square_crop_copy(kodak(5), width=320)
    files = {
        SEARCH.split("?")[0]: ("application/json", search_results(("alice.martin.2014", "Alice Martin", PICTURE.format(501)))),
        PICTURE.format(501): ("image/jpeg", her_photo),
        PICTURE.format(601): ("image/jpeg", her_photo),
        # The profile of an account nobody reported, gone too: never read, never kept.
        "/chloe.bernard/": ("text/html", b"<html><title>Page not found \xe2\x80\xa2 Instagram</title></html>"),
    }
    certs = make_origin_certs(tmp_path / "origin", [CDN, SITE])
    async with serve_origin(certs, files) as origin:
        hosts = {CDN: origin.port, SITE: origin.port}
        watcher = await asyncio.to_thread(Watcher, data_dir, hosts, certs.ca_file)
        events: list[tuple[str, dict]] = []
        connected = asyncio.Event()
        reader = asyncio.create_task(read_events(
            f"http://127.0.0.1:{watcher.api_port}/api/events", watcher.token, events, connected))

        def stats() -> dict:
            return watcher.api("GET", "/api/stats")[1]["images"]

        async def shown(picture: int) -> None:
            """The parent searches for her name; the browser gets the results, then the picture."""
            assert (await asyncio.to_thread(watcher.fetch, SITE, SEARCH)).status == 200
            await wait_for(lambda: stats()["reading"] == 0)
            got = await asyncio.to_thread(watcher.fetch, CDN, PICTURE.format(picture) + "?stp=dst-jpg_s320x320",
                                          headers={"Referer": f"https://{SITE}/"})
            assert got.status == 200
            await wait_for(lambda: stats()["waiting"] == 0 and stats()["unsaved"] == 0)

        try:
            await asyncio.wait_for(connected.wait(), 20)
            # 1. An account with her name wears her photo: an alert.
            await shown(501)
            await wait_for(lambda: any(kind == "alert" for kind, _ in events))
            first = next(data for kind, data in events if kind == "alert")
            assert (first["account"], first["kind"]) == ("alice.martin.2014", "impersonation")

            # 2. The parent reports it, from the command line, while Sentinelle runs.
            said = await asyncio.to_thread(sentinelle, data_dir, "reported", "@alice.martin.2014",
                                           "--channel", "platform", "--ref", "IG-77")
            assert "Reported @alice.martin.2014 to platform" in said.stdout
            case = await asyncio.to_thread(case_of, data_dir)
            assert [(r["handle"], r["ref"], r["answered"]) for r in case["reports"]] == [("alice.martin.2014", "IG-77", False)]
            assert [e["kind"] for e in case["timeline"]] == ["account", "sighting", "report"]

            # 3. Its profile now answers "not available" (the origin has no such page: 404).
            # Sentinelle follows the report within a second; the parent looks until it has.
            async def looked() -> bool:
                assert (await asyncio.to_thread(watcher.fetch, SITE, "/chloe.bernard/")).status == 200
                assert (await asyncio.to_thread(watcher.fetch, SITE, PROFILE)).status == 404
                await asyncio.sleep(0.3)
                return any(kind == "takedown" for kind, _ in events)

            for _ in range(20):
                if await looked():
                    break
            takedown = next(data for kind, data in events if kind == "takedown")
            assert (takedown["handle"], takedown["detail"], takedown["http_status"]) == (
                "alice.martin.2014", {"why": "HTTP 404"}, 404)
            assert takedown["page_url"] == f"https://{SITE}{PROFILE}"
            assert (data_dir / "evidence" / takedown["evidence_file"]).read_bytes() == b"not found"

            # 4. A second account shows the same photo: a return, in the same case, said as such.
            origin.files[SEARCH.split("?")[0]] = ("application/json", search_results(("alice.again", "Ali", PICTURE.format(601))))
            await shown(601)
            await wait_for(lambda: any(kind == "return" for kind, _ in events))
            back = next(data for kind, data in events if kind == "return")
            assert (back["handle"], back["detail"]["after"], back["detail"]["how"]) == ("alice.again", "alice.martin.2014", "photo")
            assert back["case_id"] == first["case_id"]
            second = next(data for kind, data in events if kind == "alert" and data["account"] == "alice.again")
            assert second["case_id"] == first["case_id"]
        finally:
            reader.cancel()
            code = await asyncio.to_thread(watcher.stop)
        out, err = watcher.output
        assert code == 0 and "Traceback" not in err, err
        assert "came back as @alice.again, less than a day after @alice.martin.2014 was taken down" in out + err

        # 5. The case file: a timeline first, naming both handles in order; verified.
        out = tmp_path / "case.zip"
        sentinelle(data_dir, "export", "--case", "Alice Martin", "--country", "FR", "--lang", "en", "-o", str(out))
        assert "all" in sentinelle(data_dir, "verify", str(out)).stdout
        subprocess.run(["unzip", "-q", "-o", str(out), "report.pdf", "-d", str(tmp_path)], check=True)
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        timeline = text.split("\f")[0]
        assert "Timeline" in timeline
        # In order: the first account, its report (its reference), its takedown (the 404), the second
        # account. Words that a table cell never wraps, as a long line's other words may be.
        assert (timeline.index("@alice.martin.2014") < timeline.index("IG-77") < timeline.index("404")
                < timeline.index("@alice.again") < timeline.index("Came back"))

        # 6. A restart: the case is all there, and the account taken down is no longer followed.
        watcher = await asyncio.to_thread(Watcher, data_dir, hosts, certs.ca_file)
        try:
            case = await asyncio.to_thread(case_of, data_dir)
            assert [a["handle"] for a in case["accounts"]] == ["alice.martin.2014", "alice.again"]
            assert [e["kind"] for e in case["timeline"]] == [
                "account", "sighting", "report", "taken down", "account", "sighting", "return"]
            assert case["reports"][0]["answered"]
        finally:
            code = await asyncio.to_thread(watcher.stop)
        assert code == 0
    # Only the reported account's page was kept; the other profile was never read.
    kept = [p for p in (data_dir / "evidence").iterdir() if p.suffix not in (".jpg", ".jpeg")]
    assert [p.read_bytes() for p in kept] == [b"not found"]
