"""proxy/fronts/addon.py: which responses the watcher checks, what it hands on, and what it counts.

mitmproxy's own test helpers drive the hooks; fingerprinting runs in the real process pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass

import pytest
from mitmproxy import exceptions
from mitmproxy.addons import proxyserver
from mitmproxy.test import taddons, tflow

from sentinelle.proxy.engine.fingerprint import enrollment_views
from sentinelle.proxy.fronts import memory
from sentinelle.proxy.fronts.addon import Watcher
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.proxy.fronts.watch import (
    CONFIRM_SECONDS,
    LATE_SECONDS,
    QUIET_SECONDS,
    WORKER_LOST,
    Watch,
)
from tests.conftest import kodak, square_crop_copy
from tests.support.index import saved_index
from tests.support.scenario import wait_for

CDN = "scontent-cdg4-1.cdninstagram.com"


def image_flow(body: bytes, host: str = CDN, content_type: str = "image/jpeg", status: int = 200,
               referer: str | None = None):
    flow = tflow.tflow(resp=True)
    flow.request.scheme, flow.request.host, flow.request.port = "https", host, 443
    flow.request.path = "/v/t51/photo.jpg?stp=dst-jpg&_nc_sid=abc"
    if referer:
        flow.request.headers["Referer"] = referer
    flow.response.status_code = status
    flow.response.headers["Content-Type"] = content_type
    flow.response.content = body
    return flow


@pytest.fixture
async def watcher(tmp_path):
    entries = [(5, view, fp) for view, fp in enrollment_views(kodak(5).read_bytes())]
    index = saved_index(tmp_path / "index", entries)
    recorded: list[Sighting] = []
    watcher = Watcher(Watch(lambda: index, recorded.append, workers=1))
    watcher.recorded = recorded
    # mitmproxy's proxy server add-on declares the options the watcher sets (stream_large_bodies).
    with taddons.context(proxyserver.Proxyserver(), watcher) as tctx:
        watcher.tctx = tctx
        watcher.watch.start()  # the composition root's part
        yield watcher
        watcher.watch.stop()


async def settle(watcher: Watcher) -> None:
    """Until no image waits: the last one's done-callback, which takes it off, has run whole."""
    await wait_for(lambda: not watcher.watch.waiting, timeout=30, interval=0.005)


async def test_a_copy_is_recorded_with_its_evidence_and_the_response_is_left_alone(watcher):
    copy = square_crop_copy(kodak(5))
    flow = image_flow(copy, referer="https://www.instagram.com/someone/")
    watcher.response(flow)
    # The hook returned before any fingerprinting happened: the browser is not kept waiting.
    assert watcher.watch.waiting == 1 and watcher.recorded == []
    assert flow.response.content == copy
    await settle(watcher)
    [sighting] = watcher.recorded
    assert sighting.body == copy and sighting.match.photo_id == 5
    assert sighting.platform == "instagram" and sighting.host == CDN
    assert sighting.image_url == flow.request.pretty_url
    assert sighting.page_url == "https://www.instagram.com/someone/"
    assert watcher.watch.counts.as_dict() == {"seen": 1, "checked": 1, "matched": 1, "skipped": {},
                                        "restarts": 0}


@dataclass(frozen=True)
class Handed:
    args: tuple
    at: float  # the event loop's clock
    checked: int  # images checked before this one was handed over


@pytest.fixture
def submitted(watcher, monkeypatch) -> list[Handed]:
    """What the watcher hands to its pool, as it hands it, and when."""
    handed = []
    submit = watcher.watch._pool.submit

    def recording(*args):  # called on the event loop, by run_in_executor
        handed.append(Handed(args, asyncio.get_running_loop().time(), watcher.watch.counts.checked))
        return submit(*args)

    monkeypatch.setattr(watcher.watch._pool, "submit", recording)
    return handed


async def test_an_image_goes_to_the_pool_once_the_proxy_is_quiet(watcher, submitted):
    # mitmproxy sends the response when the hook returns; the checker's work, and handing it
    # over, wait until the proxy has had nothing to do for QUIET_SECONDS.
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    watcher.response(image_flow(square_crop_copy(kodak(21))))
    busy = watcher.watch._last_busy
    assert submitted == [] and watcher.watch.waiting == 2
    await wait_for(lambda: submitted, interval=0.001)
    assert submitted[0].at - busy >= QUIET_SECONDS  # not before the proxy was quiet that long
    assert len(submitted) == 1  # one at a time for its one worker: the next when it is free
    await settle(watcher)
    assert len(submitted) == 2 and submitted[1].checked == 1  # handed once the first was checked
    assert watcher.watch.counts.checked == 2 and watcher.watch.waiting == 0


async def test_images_wait_while_the_proxy_stays_busy(watcher, submitted):
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    loop = asyncio.get_running_loop()
    busy_until = loop.time() + 10 * QUIET_SECONDS
    while loop.time() < busy_until:  # requests back to back, for ten quiet periods
        watcher.request(tflow.tflow())
        await asyncio.sleep(0)
    assert submitted == [] and watcher.watch.waiting == 1
    await settle(watcher)
    assert watcher.watch.counts.checked == 1


async def test_a_proxy_held_up_past_its_quiet_period_is_not_taken_for_quiet(watcher, submitted):
    # A proxy waiting for a core (the machine busy) or blocked in a long step handles no
    # request either: its look for a quiet moment then comes late, and hands nothing over.
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    look, busy = watcher.watch._pump, watcher.watch._last_busy
    time.sleep(QUIET_SECONDS + 2 * LATE_SECONDS)  # the event loop held up, as by the kernel
    await wait_for(lambda: watcher.watch._pump is not look, interval=0.001)  # the late look came
    assert submitted == [] and watcher.watch.waiting == 1
    assert watcher.watch._last_busy > busy  # taken for busy: the held-up time was not a quiet one
    late = watcher.watch._last_busy
    await wait_for(lambda: submitted, interval=0.001)  # then really quiet: it goes
    assert len(submitted) == 1 and submitted[0].at - late >= QUIET_SECONDS
    await settle(watcher)
    assert watcher.watch.counts.checked == 1


async def test_images_still_to_hand_over_at_shutdown_start_no_pool(watcher):
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    due = watcher.watch._pump_due
    watcher.watch.stop()
    # Past the moment the look for a quiet moment was set for: had done() left it set, it
    # would have run by then (the event loop runs its timers in the order they are due).
    loop = asyncio.get_running_loop()
    past = loop.create_future()
    loop.call_at(due + CONFIRM_SECONDS, past.set_result, None)
    await past
    assert watcher.watch._pool is None and watcher.watch.waiting == 0


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
async def test_the_checker_runs_only_on_cpu_time_nothing_else_wants(watcher):
    # Its own scheduling class, not just a lower priority: whatever else wakes up takes the
    # CPU from it at once (proxy/fronts/worker.py).
    policy = await asyncio.wrap_future(watcher.watch._pool.submit(os.sched_getscheduler, 0))
    assert policy == os.SCHED_IDLE


async def test_an_unrelated_image_is_checked_and_forgotten(watcher):
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    await settle(watcher)
    assert watcher.recorded == []
    assert watcher.watch.counts.checked == 1 and watcher.watch.counts.matched == 0


@pytest.mark.parametrize("flow_args", [
    {"host": "www.mybank.fr"},                      # not a social network
    {"content_type": "text/html"},                  # not an image
    {"status": 304},                                # nothing to look at
])
async def test_other_responses_are_not_looked_at(watcher, flow_args):
    watcher.response(image_flow(kodak(5).read_bytes(), **flow_args))
    assert watcher.watch.waiting == 0 and watcher.watch.counts.seen == 0


async def test_a_host_header_naming_a_social_network_is_not_believed(watcher):
    # mitmproxy connected to 127.0.0.1 (a request in absolute form, as `curl -x` sends it): the
    # Host header is the client's word, and any program on the PC can write it.
    forged = image_flow(square_crop_copy(kodak(5)), host="127.0.0.1")
    forged.request.scheme, forged.request.port = "http", 8000
    forged.request.headers["Host"] = CDN
    watcher.responseheaders(forged)
    watcher.response(forged)
    assert watcher.watch.counts.seen == 0 and watcher.watch.waiting == 0
    assert forged.response.stream is True  # not a social host's: passed on as it comes
    # The same bytes from the host mitmproxy did connect to are looked at, and named by it.
    genuine = image_flow(square_crop_copy(kodak(5)))
    genuine.request.headers["Host"] = "www.example.org"
    watcher.responseheaders(genuine)
    assert not genuine.response.stream  # a social host's: held, to be checked
    watcher.response(genuine)
    await settle(watcher)
    [sighting] = watcher.recorded
    assert sighting.host == CDN and sighting.image_url == f"https://{CDN}/v/t51/photo.jpg?stp=dst-jpg&_nc_sid=abc"


async def test_plain_http_from_a_social_name_is_not_believed(watcher):
    # No certificate says whose it is: the name may have been resolved anywhere (a hosts file).
    plain = image_flow(square_crop_copy(kodak(5)))
    plain.request.scheme, plain.request.port = "http", 80
    plain.server_conn.timestamp_tls_setup = None
    watcher.responseheaders(plain)
    watcher.response(plain)
    assert plain.response.stream is True and watcher.watch.counts.seen == 0


async def test_requests_are_never_held(watcher):
    flow = image_flow(b"")
    watcher.requestheaders(flow)
    assert flow.request.stream is True


async def test_bodies_past_the_largest_checked_are_streamed_and_counted(watcher):
    assert watcher.tctx.options.stream_large_bodies == str(16 * 2**20)
    watcher.tctx.configure(watcher, sentinelle_max_image_bytes=32 * 2**20)
    assert watcher.tctx.options.stream_large_bodies == str(32 * 2**20)
    streamed = image_flow(b"")
    streamed.response.content = None  # what mitmproxy leaves of a body it streamed
    streamed.response.stream = True
    watcher.response(streamed)
    assert watcher.watch.counts.skipped["too large"] == 1 and watcher.watch.counts.seen == 1


@pytest.mark.parametrize("body, reason", [
    (b"", "empty"),
    (b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10, None),  # reason from the decoder
])
async def test_a_broken_image_is_skipped_and_counted(watcher, body, reason):
    watcher.response(image_flow(body))
    await settle(watcher)
    assert watcher.recorded == []
    assert sum(watcher.watch.counts.skipped.values()) == 1
    if reason:
        assert watcher.watch.counts.skipped[reason] == 1


async def test_too_large_an_image_is_passed_on_unchecked_and_counted(watcher):
    watcher.tctx.configure(watcher, sentinelle_max_image_bytes=1000)
    watcher.response(image_flow(kodak(5).read_bytes()))
    assert watcher.watch.waiting == 0 and watcher.watch.counts.skipped["too large"] == 1


async def test_a_compressed_copy_is_decoded_then_checked(watcher):
    copy = square_crop_copy(kodak(5))
    flow = image_flow(copy)
    flow.response.encode("gzip")
    watcher.response(flow)
    await settle(watcher)
    [sighting] = watcher.recorded
    assert sighting.body == copy and sighting.match.photo_id == 5


async def test_a_compressed_body_too_large_once_decoded_is_passed_on_unchecked(watcher):
    watcher.tctx.configure(watcher, sentinelle_max_image_bytes=100_000)
    flow = image_flow(b"\xff\xd8\xff" + bytes(1_000_000))  # a megabyte of zeros: a few KB gzipped
    flow.response.encode("gzip")
    assert len(flow.response.raw_content) < 100_000
    watcher.response(flow)
    await settle(watcher)
    assert watcher.watch.counts.skipped["too large"] == 1 and watcher.watch.counts.checked == 0


async def test_a_burst_beyond_the_queue_is_shed_and_counted(watcher):
    watcher.tctx.configure(watcher, sentinelle_max_pending=2)
    for _ in range(5):
        watcher.response(image_flow(square_crop_copy(kodak(20))))
    assert watcher.watch.waiting == 2 and watcher.watch.counts.skipped["shed: too many waiting"] == 3
    await settle(watcher)


async def test_shedding_is_logged_once_per_hundred_images(watcher, caplog):
    watcher.tctx.configure(watcher, sentinelle_max_pending=1)
    body = square_crop_copy(kodak(20))
    with caplog.at_level(logging.DEBUG, logger="sentinelle"):
        for _ in range(251):
            watcher.response(image_flow(body))
    shed = [r for r in caplog.records if "too many waiting" in r.getMessage()]
    assert watcher.watch.counts.skipped["shed: too many waiting"] == 250
    assert [(r.levelname, r.getMessage().split("(")[1]) for r in shed] == [
        ("WARNING", "1 skipped for this reason so far)"), ("WARNING", "101 skipped for this reason so far)"),
        ("WARNING", "201 skipped for this reason so far)")]
    await settle(watcher)


async def test_the_memory_a_backlog_held_is_given_back_once_the_proxy_stays_quiet(watcher, monkeypatch):
    given_back = []
    monkeypatch.setattr(memory, "give_back", lambda: given_back.append(watcher.watch.waiting))
    watcher.watch._backlogs = memory.Backlogs(3, 0.3, watcher.watch._quiet_for)  # 3 images, 0.3 s of quiet
    for _ in range(2):
        watcher.response(image_flow(square_crop_copy(kodak(20))))
    await settle(watcher)
    # Quiet for the 0.3 s, and no look left set for later: had it been worth it, it would be done.
    await wait_for(lambda: watcher.watch._quiet_for() >= 0.3 and watcher.watch._backlogs._look is None)
    assert given_back == []  # too small a backlog to be worth it
    for _ in range(3):
        watcher.response(image_flow(square_crop_copy(kodak(20))))
    await settle(watcher)
    assert given_back == []  # kept, ready for the next backlog, while the proxy may be busy
    loop = asyncio.get_running_loop()
    busy_until = loop.time() + 0.5
    while loop.time() < busy_until:  # the proxy busy, its backlog checked
        watcher.request(tflow.tflow())
        await asyncio.sleep(0.01)
    assert given_back == []
    await wait_for(lambda: given_back)
    assert watcher.watch._quiet_for() >= 0.3 and watcher.watch._backlogs._look is None  # no other look set
    assert given_back == [0]  # once, when none waits and the proxy has been quiet


async def test_a_failing_store_does_not_break_the_watcher(watcher, caplog):
    def broken_record(sighting):
        raise OSError("disk full")
    watcher.watch._record = broken_record
    watcher.response(image_flow(square_crop_copy(kodak(5))))
    await settle(watcher)
    assert "could not record" in caplog.text
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    await settle(watcher)
    assert watcher.watch.counts.checked == 2


async def test_extra_hosts_are_intercepted_and_bad_ones_refused(watcher):
    watcher.tctx.configure(watcher, sentinelle_extra_hosts=["example-social.net"])
    assert any("example\\-social\\.net" in p for p in watcher.tctx.options.allow_hosts)
    watcher.response(image_flow(square_crop_copy(kodak(5)), host="img.example-social.net"))
    await settle(watcher)
    assert watcher.recorded[0].platform == "other"
    with pytest.raises(exceptions.OptionsError):
        watcher.tctx.configure(watcher, sentinelle_extra_hosts=["not a domain"])


async def test_the_workers_see_a_new_protected_set_at_the_next_image(watcher, tmp_path):
    # The event loop does no matching: a new version of the saved set is what changes answers.
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    await settle(watcher)
    assert watcher.recorded == []
    entries = [(20, view, fp) for view, fp in enrollment_views(kodak(20).read_bytes())]
    index = saved_index(tmp_path / "index-2", entries)
    watcher.watch._protected = lambda: index
    watcher.response(image_flow(square_crop_copy(kodak(20))))
    await settle(watcher)
    assert [s.match.photo_id for s in watcher.recorded] == [20]


async def test_a_worker_killed_mid_queue_is_replaced_once_and_checking_goes_on(watcher):
    for _ in range(20):
        watcher.response(image_flow(square_crop_copy(kodak(20))))
    await wait_for(lambda: watcher.watch._pending, interval=0.001)  # until the worker holds one
    broken = watcher.watch._pool
    [pid] = broken._processes  # the pool's one worker (workers=1)
    before = {child.pid for child in multiprocessing.active_children()}
    os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
    await settle(watcher)
    spawned = {child.pid for child in multiprocessing.active_children()} - before
    assert len(spawned) == 1, f"{len(spawned)} worker processes started to replace one"
    # Every image it held is counted, none is lost from the books; one new pool, not one per image.
    assert watcher.watch.counts.checked + watcher.watch.counts.skipped[WORKER_LOST] == 20
    assert watcher.watch.counts.skipped[WORKER_LOST] >= 1 and watcher.watch.counts.restarts == 1
    assert watcher.watch._pool is not broken and pid not in watcher.watch._pool._processes
    # And the next image is checked by the new worker, and matched.
    watcher.response(image_flow(square_crop_copy(kodak(5))))
    await settle(watcher)
    assert [s.match.photo_id for s in watcher.recorded] == [5]
    assert watcher.watch.counts.restarts == 1


async def test_an_image_offered_to_a_pool_found_broken_goes_to_a_new_one(watcher):
    broken = watcher.watch._pool
    [pid] = broken._processes
    os.kill(pid, signal.SIGKILL)
    await wait_for(lambda: broken._broken, interval=0.01)  # the pool's own thread saw the death
    assert broken._broken
    # Before the loop hears of it, an image arrives: handing it over must not raise into
    # mitmproxy's event loop.
    watcher.response(image_flow(square_crop_copy(kodak(5))))
    await wait_for(lambda: watcher.watch._pool is not broken)  # the hand-over, once the proxy is quiet
    assert watcher.watch._pool is not broken and watcher.watch.counts.restarts == 1
    await settle(watcher)
    assert [s.match.photo_id for s in watcher.recorded] == [5] and watcher.watch.counts.restarts == 1
