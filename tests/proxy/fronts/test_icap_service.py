"""proxy/fronts/icap_service.py: what Squid gets back for each kind of response, and what the watch is handed."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest
from PIL import Image
from sentinelle.proxy.fronts.icap_service import PREVIEW_BYTES, IcapService, serve

from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support.icap_client import Client, http_request, http_response
from tests.support.scenario import wait_for

CDN = "https://scontent-cdg4-1.cdninstagram.com"
IMAGE_URL = f"{CDN}/v/t51.29350-15/431000001_1_n.jpg?stp=dst-jpg_p640x640"
FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"
ISTAG = '"sentinelle-test"'


@pytest.fixture
async def served(watch):
    service = IcapService(watch, ISTAG)
    server = await serve(service, "127.0.0.1", 0)
    client = await Client.connect(server.sockets[0].getsockname()[1])
    try:
        yield watch, service, client
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


def small_copy() -> bytes:
    """A copy of the protected photo under the 32 KB preview."""
    body = square_crop_copy(kodak(5), width=320, quality=70)
    assert len(body) < PREVIEW_BYTES
    return body


def large_copy() -> bytes:
    body = square_crop_copy(kodak(5), width=1080, quality=92)
    assert len(body) > 65536
    return body


async def test_options_offer_a_preview_and_take_204(served):
    _, service, client = served
    answer = (await client.options()).decode()
    assert answer.startswith("ICAP/1.0 200 OK\r\n")
    for line in ("Methods: RESPMOD", "Allow: 204", f"Preview: {PREVIEW_BYTES}", "Transfer-Preview: *", f"ISTag: {ISTAG}"):
        assert line in answer.split("\r\n")
    assert service.answers["options"] == 1


async def test_a_small_copy_comes_whole_in_the_preview_and_gets_204_then_its_alert(served):
    watch, service, client = served
    copy = small_copy()
    answer = await client.respmod(http_request(IMAGE_URL, Referer="https://www.instagram.com/"),
                                  http_response(length=len(copy), Date="Fri, 04 Dec 2026 10:00:00 GMT"), copy)
    assert answer.status == 204 and not answer.continued
    assert service.answers["204 whole in preview"] == 1
    await wait_for(lambda: watch.recorded)
    [sighting] = watch.recorded
    assert sighting.body == copy and sighting.image_url == IMAGE_URL and sighting.platform == "instagram"
    assert sighting.page_url == "https://www.instagram.com/" and sighting.host == "scontent-cdg4-1.cdninstagram.com"
    assert sighting.response_headers["date"] == "Fri, 04 Dec 2026 10:00:00 GMT"


async def test_a_larger_copy_is_read_after_100_continue_and_gets_204_when_squid_allows_it(served):
    watch, _, client = served
    copy = large_copy()
    answer = await client.respmod(http_request(IMAGE_URL), http_response(length=len(copy)), copy, allow_204=True)
    assert answer.continued and answer.status == 204
    await wait_for(lambda: watch.recorded)
    assert watch.recorded[0].body == copy


async def test_without_allow_204_the_response_is_given_back_unchanged(served):
    watch, service, client = served
    copy = large_copy()
    res_hdr = http_response(length=len(copy), ETag='"abc"')
    answer = await client.respmod(http_request(IMAGE_URL), res_hdr, copy, allow_204=False)
    assert answer.continued and answer.status == 200
    assert answer.echoed == res_hdr + copy  # byte for byte
    assert service.answers["echo"] == 1
    await wait_for(lambda: watch.recorded)
    assert watch.recorded[0].body == copy


@pytest.mark.parametrize(("url", "res_hdr"), [
    ("https://www.example-bank.test/logo.jpg", http_response()),  # not a social host
    (IMAGE_URL, http_response(content_type="text/css")),  # not an image nor a feed
    (IMAGE_URL, http_response(status=206)),  # not a whole response
])
async def test_a_response_of_no_interest_gets_204_after_its_preview_and_is_not_kept(served, url, res_hdr):
    watch, service, client = served
    body = large_copy()
    answer = await client.respmod(http_request(url), res_hdr, body)
    assert answer.status == 204 and not answer.continued
    assert service.answers["204 of no interest"] == 1 and watch.counts.seen == 0


async def test_a_response_without_a_body_gets_204(served):
    watch, _, client = served
    answer = await client.respmod(http_request(IMAGE_URL), http_response(status=304), None)
    assert answer.status == 204 and watch.counts.seen == 0


async def test_an_unrelated_image_is_checked_and_forgotten(served):
    watch, _, client = served
    stranger = jpeg_bytes(Image.open(kodak(20)).resize((320, 213)))
    answer = await client.respmod(http_request(IMAGE_URL), http_response(length=len(stranger)), stranger)
    assert answer.status == 204
    await wait_for(lambda: watch.counts.checked == 1 and not watch.waiting)
    assert watch.recorded == []


async def test_a_compressed_feed_names_the_account_of_the_image_that_follows(served):
    watch, _, client = served
    feed = gzip.compress((FEEDS / "instagram_timeline.json").read_bytes())
    answer = await client.respmod(
        http_request("https://www.instagram.com/api/v1/feed/timeline/"),
        http_response(content_type="application/json; charset=utf-8", Content_Encoding="gzip"), feed)
    assert answer.status == 204
    await wait_for(lambda: not watch.reading and watch.attributions)
    copy = small_copy()
    await client.respmod(http_request(IMAGE_URL), http_response(length=len(copy)), copy)
    await wait_for(lambda: watch.recorded)
    assert watch.recorded[0].attribution.account == "fake.account.123"


async def test_requests_follow_each_other_on_one_connection(served):
    _, service, client = served
    for _ in range(3):
        assert (await client.respmod(http_request("https://www.instagram.com/x.css"),
                                     http_response(content_type="text/css"), b"body{}")).status == 204
    assert (await client.options()).startswith(b"ICAP/1.0 200")
    assert service.answers["204 of no interest"] == 3


async def test_a_bad_request_is_answered_400_and_the_connection_closed(served):
    _, service, client = served
    client.writer.write(b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nEncapsulated: res-body=0, req-hdr=5\r\n\r\n")
    answer = await client.reader.readuntil(b"\r\n\r\n")
    assert answer.startswith(b"ICAP/1.0 400 Bad Request\r\n")
    assert await client.reader.read() == b""  # closed
    assert service.answers["error"] == 1


async def test_reqmod_is_not_served(served):
    _, _, client = served
    client.writer.write(b"REQMOD icap://127.0.0.1/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=30\r\n\r\n")
    assert (await client.reader.readuntil(b"\r\n\r\n")).startswith(b"ICAP/1.0 405")


async def test_an_image_beyond_the_limit_is_passed_on_and_counted(served):
    watch, _, client = served
    watch.max_image_bytes = 70_000
    copy = large_copy()
    answer = await client.respmod(http_request(IMAGE_URL), http_response(length=len(copy)), copy, allow_204=False)
    assert answer.echoed.endswith(copy)  # passed on whole, all the same
    await asyncio.sleep(0)
    assert watch.counts.skipped["too large"] == 1 and watch.counts.seen == 1
