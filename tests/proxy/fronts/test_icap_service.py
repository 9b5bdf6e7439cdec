"""proxy/fronts/icap_service.py: what Squid gets back for each kind of response, and what the watch is handed."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
from pathlib import Path

import pytest
from PIL import Image

from sentinelle.proxy.fronts import icap
from sentinelle.proxy.fronts.icap import KEY_HEADER
from sentinelle.proxy.fronts.icap_service import PREVIEW_BYTES, IcapService, peer_address, peer_networks, serve
from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.support.icap_client import Client, http_request, http_response, respmod
from tests.support.scenario import wait_for

CDN = "https://scontent-cdg4-1.cdninstagram.com"
IMAGE_URL = f"{CDN}/v/t51.29350-15/431000001_1_n.jpg?stp=dst-jpg_p640x640"
FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"
ISTAG = '"sentinelle-test"'
KEY = "squid-s-key-" + "k" * 31


@pytest.fixture
async def served(watch):
    service = IcapService(watch, ISTAG, key=KEY)
    server = await serve(service, "127.0.0.1", 0)
    client = await Client.connect(server.sockets[0].getsockname()[1], KEY)
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


GONE = Path(__file__).parents[2] / "fixtures" / "gone"


@pytest.mark.parametrize("allow_204", [True, False])
async def test_a_reported_account_s_profile_is_read_whatever_its_status_and_no_other_s(served, allow_204):
    watch, service, client = served
    watch.reported = frozenset({("instagram", "fake.alice")})
    # The page, past the preview once compressed: read after 100 Continue (and echoed without Allow: 204).
    page = (GONE / "instagram_profile_gone.html").read_bytes() + b"<!--" + os.urandom(48 * 1024).hex().encode() + b"-->"
    body = gzip.compress(page)
    assert len(body) > PREVIEW_BYTES
    head = http_response(status=404, content_type="text/html; charset=utf-8", Content_Encoding="gzip")
    # Another account's page, gone too: of no interest, never read.
    answer = await client.respmod(http_request("https://www.instagram.com/chloe.bernard/"), head, body,
                                  allow_204=allow_204)
    assert answer.status == 204 and service.answers["204 of no interest"] == 1
    answer = await client.respmod(http_request("https://www.instagram.com/Fake.Alice/"), head, body, allow_204=allow_204)
    assert answer.continued and answer.status == (204 if allow_204 else 200)
    if not allow_204:
        assert answer.echoed == head + body  # given back unchanged
    await wait_for(lambda: watch.gone_accounts)
    [gone] = watch.gone_accounts
    assert (gone.handle, gone.why, gone.status, gone.body) == ("Fake.Alice", "HTTP 404", 404, page)
    assert gone.url == "https://www.instagram.com/Fake.Alice/" and gone.seen_at is not None


async def test_a_reported_account_s_profile_answered_without_a_body_is_read_too(served):
    watch, _, client = served
    watch.reported = frozenset({("instagram", "fake.alice")})
    answer = await client.respmod(http_request("https://www.instagram.com/fake.alice/"),
                                  http_response(status=404, content_type=None), None)
    assert answer.status == 204
    await wait_for(lambda: watch.gone_accounts)
    assert [(g.handle, g.why, g.body) for g in watch.gone_accounts] == [("fake.alice", "HTTP 404", b"")]


async def test_a_reported_account_s_live_profile_feed_is_still_read_as_a_feed(served):
    watch, _, client = served
    watch.reported = frozenset({("instagram", "fake.account.123")})
    feed = (FEEDS / "instagram_timeline.json").read_bytes()
    answer = await client.respmod(
        http_request("https://www.instagram.com/api/v1/users/web_profile_info/?username=fake.account.123"),
        http_response(content_type="application/json; charset=utf-8"), feed)
    assert answer.status == 204
    await wait_for(lambda: not watch.reading and watch.attributions)
    assert watch.gone_accounts == []  # the account is there


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


# -- only Squid, and nothing unbounded ----------------------------------------------

@pytest.mark.parametrize("key", [None, "a-guess-" + "g" * 35, KEY[:-1]])
async def test_a_respmod_without_squid_s_key_is_refused_before_its_heads_are_read(watch, key):
    # Any program on the machine reaches the port: without the key its image raises nothing.
    service = IcapService(watch, ISTAG, key=KEY)
    server = await serve(service, "127.0.0.1", 0)
    client = await Client.connect(server.sockets[0].getsockname()[1], key)
    try:
        copy = small_copy()
        first, _ = respmod(http_request(IMAGE_URL), http_response(length=len(copy)), copy, PREVIEW_BYTES, True, key)
        client.writer.write(first.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")  # the ICAP head only
        answer = await asyncio.wait_for(client.reader.read(), 5)  # answered, and closed, at once
        assert answer.startswith(b"ICAP/1.0 403 Forbidden\r\n")
        assert service.answers["error"] == 1 and watch.counts.seen == 0
    finally:
        await client.close()
        server.close()


async def closed_on_arrival(port: int) -> bool:
    """Whether the service closes a new connection without answering its OPTIONS."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\n\r\n")
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_peer_not_allowed_is_closed_unanswered(watch, caplog):
    service = IcapService(watch, ISTAG, key=KEY, allow=["192.168.1.0/24", "10.1.2.3"])
    server = await serve(service, "127.0.0.1", 0)
    try:
        for _ in range(3):
            assert await closed_on_arrival(server.sockets[0].getsockname()[1])
        assert service.answers == {"refused peer": 3}
        # Said once, loudly, with what to do.
        assert [r.levelname for r in caplog.records if "not an allowed peer" in r.message] == ["WARNING"]
    finally:
        server.close()


def test_allowed_peers_are_addresses_or_networks():
    allowed = peer_networks(["192.168.1.0/24", "::1", "10.1.2.3"])
    assert peer_address(("192.168.1.77", 40000)) in allowed[0]
    assert peer_address(("::ffff:10.1.2.3", 40000, 0, 0)) in allowed[2]  # mapped into IPv6
    assert peer_address(("fe80::1%eth0", 40000, 0, 2)) not in allowed[1]
    with pytest.raises(ValueError, match="not an address"):
        peer_networks(["squid.lan"])


async def test_connections_past_the_most_are_closed_on_arrival(watch):
    service = IcapService(watch, ISTAG, key=KEY, max_connections=2)
    server = await serve(service, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clients = [await Client.connect(port, KEY) for _ in range(2)]
    try:
        assert [(await c.options())[:12] for c in clients] == [b"ICAP/1.0 200"] * 2
        assert await closed_on_arrival(port)
        assert service.answers["refused: too many connections"] == 1
        await clients[0].close()  # one ends: room for another
        await wait_for(lambda: len(service._connections) == 1)
        again = await Client.connect(port, KEY)
        assert (await again.options()).startswith(b"ICAP/1.0 200")
        clients[0] = again
    finally:
        for client in clients:
            await client.close()
        server.close()


async def test_unfinished_heads_and_idle_connections_are_closed_in_time(watch):
    service = IcapService(watch, ISTAG, key=KEY, head_seconds=0.3, idle_seconds=0.6)
    server = await serve(service, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        silent, slow, idle = [await Client.connect(port, KEY) for _ in range(3)]
        slow.writer.write(b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHo")
        assert (await idle.options()).startswith(b"ICAP/1.0 200")
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(silent.reader.read(), 5) == b""  # never sent a byte
        assert (await asyncio.wait_for(slow.reader.read(), 5)).startswith(b"ICAP/1.0 408 Request Timeout\r\n")
        assert asyncio.get_running_loop().time() - started < 0.6
        assert await asyncio.wait_for(idle.reader.read(), 5) == b""  # waited longer for its next request
        for client in (silent, slow, idle):
            await client.close()
    finally:
        server.close()


HEAD = (b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
        + f"{KEY_HEADER}: {KEY}\r\n".encode())
REQ = http_request(IMAGE_URL)
RES = http_response(length=100)
BODY_AT = f"Encapsulated: req-hdr=0, res-hdr={len(REQ)}, res-body={len(REQ) + len(RES)}\r\n".encode()


@pytest.mark.parametrize(("sent", "status"), [
    (HEAD + b"Encapsulated: req-hdr=0, res-body=\xb2\r\n\r\n", 400),  # `²`: a digit to str.isdigit
    (HEAD + b"Encapsulated: req-hdr=0, res-body=" + b"7" * 5000 + b"\r\n\r\n", 400),
    (HEAD + f"Encapsulated: req-hdr=0, res-body={512 * 2**20}\r\n\r\n".encode(), 413),
    (HEAD + b"X-Filler: " + b"a" * 70_000, 413),  # a head past 64 KB
    (HEAD + BODY_AT + b"Preview: \xb2\r\n\r\n" + REQ + RES + b"0\r\n\r\n", 400),
    (HEAD + BODY_AT + b"Allow: 204\r\n\r\n" + REQ + RES + b"f" * 70_000 + b"\r\n", 400),  # a chunk-size line of 70 KB
    (HEAD + BODY_AT + b"Allow: 204\r\n\r\n" + REQ + RES + b"0\r\nX: " + b"t" * 70_000 + b"\r\n\r\n", 400),
    (HEAD + BODY_AT + b"Allow: 204\r\n\r\n" + REQ + RES + b"0\r\n" + b"X: trailer\r\n" * 7000 + b"\r\n", 413),
    (HEAD + BODY_AT + b"Allow: 204\r\n\r\n" + REQ + RES + b"4\r\nabcdEF\r\n0\r\n\r\n", 400),  # no CRLF after
    (HEAD + BODY_AT + b"Allow: 204\r\n\r\n" + REQ + RES + b"-4\r\n", 400),
    # A body with no response head to give it back under (and no preview, no 204): refused up front.
    (HEAD + f"Encapsulated: req-hdr=0, res-body={len(REQ)}\r\n\r\n".encode() + REQ + b"4\r\nabcd\r\n0\r\n\r\n", 400),
    (b"RESPMOD icap://127.0.0.1/respmod ICAP/9.9\r\n\r\n", 505),
    (b"\xff\xfe\r\n\r\n", 400),
])
async def test_every_malformed_request_gets_its_4xx_and_a_line_without_a_traceback(watch, caplog, sent, status):
    caplog.set_level(logging.INFO, logger="sentinelle")
    service = IcapService(watch, ISTAG, key=KEY)
    server = await serve(service, "127.0.0.1", 0)
    client = await Client.connect(server.sockets[0].getsockname()[1], KEY)
    try:
        client.writer.write(sent)
        answer = await asyncio.wait_for(client.reader.read(), 5)
        assert answer.split(b"\r\n")[0] == f"ICAP/1.0 {status} {icap.REASONS[status]}".encode()
        assert service.answers["error"] == 1
        said = [r for r in caplog.records if "refused a request" in r.message]
        assert len(said) == 1 and said[0].exc_info is None
        assert not any(r.exc_info for r in caplog.records)
    finally:
        await client.close()
        server.close()

