"""The mitmproxy add-on: picks the images social networks send and checks them off the response path.

The browser gets every response at once and unchanged. The bytes of a social host's
image wait, in a bounded queue, for the proxy's next pause (QUIET_SECONDS), then go to a
process pool to be fingerprinted and searched for (proxy/worker.py): the event loop, which
serves every flow, never runs that work, and the pool never competes with a busy proxy.
Only a match is handed on, through the `record` callable the runner wired in. The feed JSON
(or HTML) of a social host goes to the same pool to be read for who posted which image
(proxy/attribution.py), kept in memory only and attached to a match, and for accounts whose
names look like a child's (proxy/lookalikes.py), handed on through `watch`. This is the
only module that imports mitmproxy.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

from mitmproxy import ctx, exceptions, http
from sentinelle.proxy import memory, worker
from sentinelle.proxy.attribution import MAX_FEED_BYTES, AttributionMap, is_feed
from sentinelle.proxy.hosts import (
    all_domains,
    allow_hosts_patterns,
    normalise_domain,
    platform_of,
)
from sentinelle.proxy.images import ImageError, is_image
from sentinelle.proxy.lookalikes import Lookalike
from sentinelle.proxy.sighting import Sighting, WatchCounts, evidence_headers
from sentinelle.proxy.worker import IndexRef

logger = logging.getLogger("sentinelle")

# A feed image is well under 2 MB; 16 MB leaves room for a full-size original
# while keeping a hostile body from tying up a worker.
MAX_IMAGE_BYTES = 16 * 1024 * 1024
# Images waiting for a worker. Past this the watcher sheds (and counts) rather
# than letting memory grow without bound during a burst.
MAX_PENDING = 256
# Feed responses waiting to be read for attribution; past this they are passed unread.
MAX_PENDING_FEEDS = 32

# Images are handed to the checker once the proxy has had no request or response to handle
# for this long. Its work runs at idle priority, yet on a machine whose cores the browser and
# the proxy keep busy it still slows them (caches, memory, the hand-over itself): handed
# over at once, at 8 and 32 connections served back to back, images took 2 to 9 ms longer
# at the median (benchmarks/proxy_overhead.py; with this pause, +0.6 to +1.2 ms). A browser loading
# a feed over the internet leaves gaps of tens of milliseconds (each image waits a round trip),
# where the checker keeps up; a proxy busy back to back leaves none, and its images wait for
# the first pause, in the bounded queue (MAX_PENDING), or are shed, counted.
QUIET_SECONDS = 0.010
# A look for that quiet moment that comes this much later than it was set for means the proxy
# was held up: its event loop busy, or the process waiting for a core while the machine is
# busy. Either way the quiet it seems to see is not one; it waits another QUIET_SECONDS.
LATE_SECONDS = QUIET_SECONDS / 2
# Every hand-over passes through such a look, even when the proxy has long been quiet: the
# shortest wait that shows the event loop is free.
CONFIRM_SECONDS = 0.001

# The memory waiting images held is kept for the next backlog, up to this much (a full
# backlog of MAX_PENDING feed photos is some 60 MB): a backlog that finds its memory ready
# costs no page faults, which cost more than the rest of the watcher's work on a busy proxy
# (proxy/memory.py).
KEEP_FOR_REUSE = 128 * 2**20
# Once this many images have waited since memory was last given back, all are checked, and
# the proxy has handled nothing for GIVE_BACK_QUIET_SECONDS (the family stopped browsing),
# the memory they held is given back to the system: about 15 MB of feed photos or more, for a
# call that takes a few milliseconds, when nobody waits for the proxy.
GIVE_BACK_AFTER = 64
GIVE_BACK_QUIET_SECONDS = 10.0

SHED = "shed: too many waiting"
# Images waiting in the pool when one of its workers died (killed, out of memory, crashed in
# a decoder): the pool is replaced, and they pass unchecked, counted.
WORKER_LOST = "worker stopped"

def page_of(request: http.Request) -> str | None:
    """The page an image was shown on, as far as the browser told: Referer, else Origin."""
    return request.headers.get("referer") or request.headers.get("origin") or None


def default_workers() -> int:
    """Leave a core to the browser on a family PC."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class _Seen:
    """What the watcher keeps of a response while its image is being fingerprinted."""

    seen_at: datetime
    image_url: str
    page_url: str | None
    host: str
    platform: str
    content_type: str
    body: bytes
    headers: dict[str, str]


class Watcher:
    """Sentinelle's mitmproxy add-on.

    `protected` says where the protected set is saved for the workers, and its version
    (asked at each image, so a change reaches the next one); `record` is handed each
    sighting, on the event loop, never on the response path; `watch` (if given) each account
    a feed showed whose name looks like a child's. All must answer at once, touching no
    disk: the server hands in a cached index and a recorder that queues.
    `tune_memory`: the process is Sentinelle's own, so the allocator is the watcher's to tune.
    """

    def __init__(
        self,
        protected: Callable[[], IndexRef],
        record: Callable[[Sighting], None],
        *,
        watch: Callable[[Lookalike], None] | None = None,
        workers: int | None = None,
        tune_memory: bool = False,
    ) -> None:
        self._protected = protected
        self._record = record
        self._watch = watch
        self._workers = workers or default_workers()
        # Whether the process is Sentinelle's own (`sentinelle run`), so that the C allocator's
        # settings are the watcher's to change; inside someone else's mitmdump they are not.
        self._tune_memory = tune_memory
        self._extra_domains: tuple[str, ...] = ()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pending: set[asyncio.Future] = set()
        # Responses whose image waits for a quiet moment: (flow, platform, when it was seen).
        self._queued: collections.deque[tuple[http.HTTPFlow, str, float]] = collections.deque()
        self._max_image_bytes, self._max_pending = MAX_IMAGE_BYTES, MAX_PENDING  # as the options say
        self._last_busy = 0.0  # the event loop's clock when the proxy last handled a request or response
        self._pump: asyncio.TimerHandle | None = None  # when to look again for a quiet moment
        self._pump_due = 0.0  # the event loop's clock when that look is due
        self._backlogs = memory.Backlogs(GIVE_BACK_AFTER, GIVE_BACK_QUIET_SECONDS, self._quiet_for)
        self._feeds: set[asyncio.Future] = set()
        self.attributions = AttributionMap()
        self.counts = WatchCounts()

    @property
    def waiting(self) -> int:
        """Images kept to be checked and not yet checked."""
        return len(self._queued) + len(self._pending)

    @property
    def reading(self) -> int:
        """Feed responses handed to the pool and not yet read."""
        return len(self._feeds)

    def report(self) -> dict[str, object]:
        """The counts so far, how many images wait to be checked and how many feeds to be read."""
        return self.counts.as_dict() | {"waiting": self.waiting, "reading": self.reading}

    # -- mitmproxy hooks --------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            "sentinelle_extra_hosts", Sequence[str], [],
            "Domains to watch besides the built-in social networks (subdomains included).",
        )
        loader.add_option(
            "sentinelle_max_image_bytes", int, MAX_IMAGE_BYTES,
            "Images larger than this are passed to the browser unchecked, and counted.",
        )
        loader.add_option(
            "sentinelle_max_pending", int, MAX_PENDING,
            "Images waiting to be checked before new ones are shed, and counted.",
        )
        # configure() is not called for an add-on's own defaults: intercept the
        # built-in list from the start, and let configure() add the extra hosts.
        loader.master.options.update(allow_hosts=allow_hosts_patterns(all_domains()))

    def configure(self, updated: set[str]) -> None:
        if "sentinelle_extra_hosts" in updated:
            try:
                extra = tuple(normalise_domain(d) for d in ctx.options.sentinelle_extra_hosts)
            except ValueError as e:
                raise exceptions.OptionsError(f"sentinelle_extra_hosts: {e}") from e
            self._extra_domains = extra
            # Only these hosts are intercepted; every other one is tunnelled untouched.
            ctx.options.update(allow_hosts=allow_hosts_patterns(all_domains(extra)))
        for name in ("sentinelle_max_image_bytes", "sentinelle_max_pending"):
            if name in updated and getattr(ctx.options, name) < 1:
                raise exceptions.OptionsError(f"{name} must be at least 1")
        # Read at every image: kept here, not looked up in the options each time.
        self._max_image_bytes = ctx.options.sentinelle_max_image_bytes
        self._max_pending = ctx.options.sentinelle_max_pending

    def running(self) -> None:
        if self._tune_memory:
            memory.keep_for_reuse(KEEP_FOR_REUSE)
        self._start_pool()

    def done(self) -> None:
        for future in self._pending | self._feeds:
            future.cancel()
        self._pending.clear()
        self._queued.clear()
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        self._backlogs.cancel()
        self._feeds.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def request(self, flow: http.HTTPFlow) -> None:
        self._last_busy = asyncio.get_running_loop().time()

    def response(self, flow: http.HTTPFlow) -> None:
        self._last_busy = asyncio.get_running_loop().time()
        response = flow.response
        if response is None or response.status_code != 200:
            return
        # The host mitmproxy connected to; the Host header only when that is no social host
        # (an address): reading the header costs 6 µs, most of this hook's work.
        platform = (platform_of(flow.request.host, self._extra_domains)
                    or platform_of(flow.request.pretty_host, self._extra_domains))
        if platform is None:
            return  # plain HTTP is never tunnelled, so check the host here too
        body = response.raw_content
        content_type = response.headers.get("content-type", "")
        if body is None:
            return
        if is_feed(content_type):
            self._read_feed(flow, platform, content_type)
            return
        if not is_image(content_type, body[:16]):
            return
        self.counts.seen += 1
        if reason := self._refusal(body):
            self._skip(platform, reason)
            return
        # The rest (URLs, headers kept as evidence, a compressed body's decoding) is read once
        # the proxy is quiet, with the hand-over (QUIET_SECONDS): mitmproxy sends the response
        # when this hook returns, and every microsecond here is one each image waits.
        self._queued.append((flow, platform, time.time()))
        self._backlogs.held()
        self._hand_when_quiet()

    # -- off the response path -------------------------------------------------

    def _read_feed(self, flow: http.HTTPFlow, platform: str, content_type: str) -> None:
        response = flow.response
        if len(response.raw_content) > MAX_FEED_BYTES or len(self._feeds) >= MAX_PENDING_FEEDS:
            return  # passed unread: its images are still checked, only without an account
        body = response.get_content(strict=False) or b""
        if not body or len(body) > MAX_FEED_BYTES:
            return
        handed = self._hand_over(worker.read_feed, platform, flow.request.pretty_url, content_type, body,
                                 self._protected())
        if handed is None:
            return  # no worker to take it: passed unread
        pool, future = handed
        self._feeds.add(future)
        future.add_done_callback(partial(self._read, pool, datetime.now(UTC)))

    def _read(self, pool: concurrent.futures.Executor, seen_at: datetime, future: asyncio.Future) -> None:
        self._feeds.discard(future)
        if future.cancelled():
            return
        if (error := future.exception()) is not None:
            if isinstance(error, concurrent.futures.BrokenExecutor):
                self._replace_pool(pool)
            else:
                logger.info("Sentinelle could not read a feed: %r", error)
            return
        attributions, lookalikes = future.result()
        self.attributions.add_all(attributions)
        for lookalike in lookalikes:
            if self._watch is None:
                break
            try:
                self._watch(replace(lookalike, seen_at=seen_at))
            except Exception:
                logger.exception("Sentinelle saw an account that looks like a child's but could not note it")

    def _refusal(self, body: bytes) -> str | None:
        """Why an image is not to be kept for checking, if it is not."""
        return self._unfit(body) or (SHED if self.waiting >= self._max_pending else None)

    def _unfit(self, body: bytes) -> str | None:
        if not body:
            return "empty"
        if len(body) > self._max_image_bytes:
            return "too large"
        return None

    def _seen(self, flow: http.HTTPFlow, platform: str, seen_at: float) -> _Seen | None:
        """What is kept of a response while its image is checked; None (counted) if its body,
        once decoded, is not worth checking."""
        response = flow.response
        body = response.raw_content
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            body = response.get_content(strict=False) or b""
            if reason := self._unfit(body):
                self._skip(platform, reason)
                return None
        return _Seen(
            seen_at=datetime.fromtimestamp(seen_at, UTC),
            image_url=flow.request.pretty_url,
            page_url=page_of(flow.request),
            host=flow.request.pretty_host,
            platform=platform,
            content_type=response.headers.get("content-type", ""),
            body=body,
            headers=evidence_headers(response.headers.items(multi=True)),
        )

    def _start_pool(self) -> None:
        # spawn: a forked copy of a running event loop and its threads is not safe.
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=worker.start,
        )
        # Start them now, not on the first image, with Ctrl-C ignored from their first
        # instant (an ignored signal stays ignored through exec): the terminal sends it to
        # every process of the group, and only this one must act on it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _ in range(self._workers):
                self._pool.submit(worker.ready)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _hand_over(self, fn, *args) -> tuple[concurrent.futures.Executor, asyncio.Future] | None:
        """Give work to the pool: the pool it went to and its future, or None if no pool takes it.

        A pool can be found broken here, between a worker's death and the callbacks that
        report it: it is replaced at once, and the work goes to the new one.
        """
        loop = asyncio.get_running_loop()
        for _ in range(2):
            if self._pool is None:
                self._start_pool()
            pool = self._pool
            try:
                return pool, loop.run_in_executor(pool, fn, *args)
            except concurrent.futures.BrokenExecutor:
                self._replace_pool(pool)
            except RuntimeError:  # shut down: Sentinelle is stopping
                return None
        return None

    def _replace_pool(self, broken: concurrent.futures.Executor) -> None:
        """A worker died, and with it the whole pool: shut it down and start another — once,
        however many of its futures report it (every image it held fails at once)."""
        if broken is not self._pool:
            return  # already replaced
        self.counts.restarts += 1
        logger.error("Sentinelle's image checker stopped abruptly (killed, out of memory or crashed): "
                     "starting it again (%d restarts so far); the images it held pass unchecked, counted.",
                     self.counts.restarts)
        broken.shutdown(wait=False, cancel_futures=True)
        self._start_pool()

    def _hand_when_quiet(self) -> None:
        """Set a look for the proxy's next quiet moment, if waiting images need one."""
        if self._pump is not None or not self._queued or len(self._pending) >= self._workers:
            return  # already set to look, or nothing to hand over, or no worker free
        loop = asyncio.get_running_loop()
        wait = max(QUIET_SECONDS - (loop.time() - self._last_busy), CONFIRM_SECONDS)
        self._pump_due = loop.time() + wait
        self._pump = loop.call_at(self._pump_due, self._look_again)

    def _quiet_for(self) -> float:
        """How long the proxy has handled no request or response, in seconds."""
        return asyncio.get_running_loop().time() - self._last_busy

    def _look_again(self) -> None:
        """Hand waiting images to the pool, one per worker at a time, if the proxy is quiet: it
        has handled nothing for QUIET_SECONDS, and this look came on time (LATE_SECONDS)."""
        self._pump = None
        loop = asyncio.get_running_loop()
        if loop.time() - self._pump_due > LATE_SECONDS:
            self._last_busy = loop.time()  # held up: not a quiet moment
        while self._queued and len(self._pending) < self._workers:
            if loop.time() - self._last_busy < QUIET_SECONDS:
                break
            if (seen := self._seen(*self._queued.popleft())) is not None:
                self._submit(seen)
        self._hand_when_quiet()

    def _submit(self, seen: _Seen) -> None:
        handed = self._hand_over(worker.check, seen.body, self._protected())
        if handed is None:
            self._skip(seen.platform, WORKER_LOST)
            return
        pool, future = handed
        self._pending.add(future)
        future.add_done_callback(partial(self._checked, seen, pool))

    def _checked(self, seen: _Seen, pool: concurrent.futures.Executor, future: asyncio.Future) -> None:
        self._pending.discard(future)
        if future.cancelled():
            return
        self._hand_when_quiet()  # a worker is free
        if not self.waiting:
            self._backlogs.drained()
        if (error := future.exception()) is not None:
            if isinstance(error, ImageError):
                self._skip(seen.platform, error.reason)
            elif isinstance(error, concurrent.futures.BrokenExecutor):
                self._skip(seen.platform, WORKER_LOST)
                self._replace_pool(pool)
            else:
                logger.error("Sentinelle could not check an image: %r", error)
                self._skip(seen.platform, "checker failed")
            return
        self.counts.checked += 1
        found = future.result()
        if found is None:
            return  # nothing of it is kept
        self.counts.matched += 1
        sighting = Sighting(
            seen_at=seen.seen_at, image_url=seen.image_url, page_url=seen.page_url,
            host=seen.host, platform=seen.platform, content_type=seen.content_type,
            body=seen.body, match=found, response_headers=seen.headers,
            attribution=self.attributions.lookup(seen.image_url),
        )
        try:
            self._record(sighting)
        except Exception:
            logger.exception("Sentinelle saw a protected photo but could not record it")

    def _skip(self, platform: str, reason: str) -> None:
        self.counts.skipped[reason] += 1
        count = self.counts.skipped[reason]
        if reason == SHED and count % 100 != 1:
            # Shedding means images went unchecked: say so, but once per hundred. A line per
            # image (counted all the same) would put a record through all of mitmproxy's log
            # handlers for every image shed, when the proxy is busiest.
            return
        logger.log(logging.WARNING if reason == SHED else logging.INFO,
                   "Sentinelle skipped an image from %s: %s (%d skipped for this reason so far)",
                   platform, reason, count)
