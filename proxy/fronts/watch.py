"""Watching the social networks' responses, whatever front sees them: feeds read, images checked
off the response path, matches handed on.

A front — the mitmproxy add-on (proxy/fronts/addon.py) on a family PC, the ICAP service behind a
network's Squid (proxy/fronts/icap_service.py) — is attached to the watch (`Front`) and decides
nothing but what it must: it tells the watch when it handles traffic (`busy`), sorts each
social host's response with `triage`, and hands in a feed (`read_feed`) or an image
(`take_image`) as received, content-encoded or not, then answers its client at once. The
image's bytes wait, in a bounded queue, for a quiet moment (`quiet_seconds`), then go to a
process pool to be decoded within MAX_IMAGE_BYTES, fingerprinted and searched for
(proxy/fronts/worker.py): the event loop, which serves every response, never runs that work,
and a body that inflates to gigabytes stops at the limit, in a worker. Only a match is handed
on, as a `Sighting`, through the `record` callable the composition root wired in; feeds are
read in the same pool for who posted which image (proxy/feeds/attribution.py), kept in memory
only and attached to a match, and for accounts whose names look like a child's
(proxy/feeds/lookalikes.py), handed on through `watch`. A match whose feed named its account
by id alone waits for a feed that ties that id to a handle: the tie is handed on through
`named`. No mitmproxy here: URLs, headers and bytes in, sightings, look-alikes and names out.
The reading of feeds and profiles is proxy/fronts/feed_reading.py; the pool, proxy/fronts/pool.py.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sentinelle.proxy.engine.images import ImageError, is_image
from sentinelle.proxy.feeds.attribution import AccountNamed, AttributionMap, is_feed
from sentinelle.proxy.feeds.gone import Gone
from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.proxy.fronts import encoding, memory, worker
from sentinelle.proxy.fronts.feed_reading import FeedReading
from sentinelle.proxy.fronts.pool import CheckingPool
from sentinelle.proxy.fronts.sighting import Sighting, WatchCounts
from sentinelle.proxy.fronts.worker import IndexRef

logger = logging.getLogger("sentinelle")

# A feed image is well under 2 MB; 16 MB leaves room for a full-size original
# while keeping a hostile body from tying up a worker.
MAX_IMAGE_BYTES = 16 * 1024 * 1024
# Images waiting for a worker. Past this the watch sheds (and counts) rather
# than letting memory grow without bound during a burst.
MAX_PENDING = 256

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
# (proxy/fronts/memory.py).
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

# What `triage` says a response is.
FEED, IMAGE = "feed", "image"


def default_workers() -> int:
    """Leave a core to the browser on a family PC."""
    return max(1, (os.cpu_count() or 2) - 1)


def triage(status: int, content_type: str, head: bytes) -> str | None:
    """What a social host's response is to the watch: FEED (read for who posted what), IMAGE
    (checked), or None (left alone). `head`: the body's first bytes (16 are enough), which
    tell an unlabelled image."""
    if status != 200:
        return None
    if is_feed(content_type):
        return FEED
    if is_image(content_type, head):
        return IMAGE
    return None


@dataclass(frozen=True)
class Seen:
    """What the watch keeps of an image response while it is being checked."""

    seen_at: datetime
    image_url: str
    page_url: str | None
    host: str
    platform: str
    content_type: str
    body: bytes  # as received: still content-encoded if it was (`coding`)
    headers: dict[str, str]
    coding: str = "identity"  # its Content-Encoding, undone in the worker within the limit


class Front(Protocol):
    """What the watch asks of the front attached to it (`Watch.attach`): what an image it kept
    is, read once the front is quiet. `kept` is whatever the front handed to `take_image`
    (a mitmproxy flow, an ICAP response): reading its URLs and headers then, not on the
    response path, is what keeps each image's cost there to a few microseconds."""

    def describe(self, kept: Any, platform: str, seen_at: float) -> Seen: ...


class Watch(FeedReading, CheckingPool):
    """The shared work of every front: the pool (pool.py), the feeds (feed_reading.py), the
    quiet-moment hand-over, the counts.

    `protected` says where the protected set is saved for the workers, and its version
    (asked at each image, so a change reaches the next one); `record` is handed each
    sighting, on the event loop, never on the response path; `lookalike` (if given) each
    account a feed showed whose name looks like a child's; `named` (if given) the handle a feed
    ties to an account that a sighting knew by id alone (`await_names`); `gone` (if given) each
    answer that a reported account is gone (`reported` holds those accounts, kept up to date by
    the root). All must answer at once, touching no disk: the server hands in a cached index and
    a recorder that queues.
    `tune_memory`: the process is Sentinelle's own, so the allocator is the watch's to tune.
    `quiet_seconds`: how long the front must have handled nothing before images are handed
    to the checker (0: as soon as a worker is free).
    """

    def __init__(
        self,
        protected: Callable[[], IndexRef],
        record: Callable[[Sighting], None],
        *,
        lookalike: Callable[[Lookalike], None] | None = None,
        named: Callable[[AccountNamed], None] | None = None,
        gone: Callable[[Gone], None] | None = None,
        workers: int | None = None,
        tune_memory: bool = False,
        quiet_seconds: float = QUIET_SECONDS,
    ) -> None:
        self._protected = protected
        self._record = record
        self._lookalike = lookalike
        self._named = named
        # Accounts that sightings knew by their id alone: (platform, id), the oldest forgotten first.
        self._unnamed: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._gone = gone
        # The accounts the parent reported and not yet seen gone, as (platform, handle lower-cased):
        # the only profiles whose answers are read (privacy), set by the composition root.
        self.reported: frozenset[tuple[str, str]] = frozenset()
        self._front: Front | None = None
        self._workers = workers or default_workers()
        # Whether the process is Sentinelle's own (`sentinelle run`, `sentinelle icap`), so that
        # the C allocator's settings are the watch's to change; inside someone else's mitmdump
        # they are not.
        self._tune_memory = tune_memory
        self._quiet_seconds = quiet_seconds
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pending: set[asyncio.Future] = set()
        # Images waiting for a quiet moment: (what the front kept, platform, when it was seen).
        self._queued: collections.deque[tuple[object, str, float]] = collections.deque()
        self.max_image_bytes, self.max_pending = MAX_IMAGE_BYTES, MAX_PENDING
        self._last_busy = 0.0  # the event loop's clock when the front last handled traffic
        self._pump: asyncio.TimerHandle | None = None  # when to look again for a quiet moment
        self._pump_due = 0.0  # the event loop's clock when that look is due
        self._backlogs = memory.Backlogs(GIVE_BACK_AFTER, GIVE_BACK_QUIET_SECONDS, self._quiet_for)
        self._feeds: set[asyncio.Future] = set()
        self.attributions = AttributionMap()
        self.counts = WatchCounts()

    @property
    def workers(self) -> int:
        return self._workers

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

    # -- what a front calls ------------------------------------------------------

    def attach(self, front: Front) -> None:
        """The front whose traffic this watch checks (one front a watch)."""
        if self._front is not None and self._front is not front:
            raise ValueError("this watch already has a front")
        self._front = front

    def start(self) -> None:
        """Start the checker's workers (and tune the allocator, in a process of Sentinelle's own)."""
        if self._tune_memory:
            memory.keep_for_reuse(KEEP_FOR_REUSE)
        self._start_pool()

    def stop(self) -> None:
        """Forget what waits, and stop the workers."""
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

    def busy(self) -> None:
        """The front handled a request or a response just now."""
        self._last_busy = asyncio.get_running_loop().time()

    def take_image(self, kept: object, platform: str, body: bytes) -> None:
        """Keep an image response to be checked once the front is quiet; `body` as received.

        `kept` is whatever the front needs to describe it later (`describe`): reading URLs and
        headers then, not now, keeps that work off the response path.
        """
        self.counts.seen += 1
        if reason := self._refusal(body):
            self._skip(platform, reason)
            return
        self._queued.append((kept, platform, time.time()))
        self._backlogs.held()
        self._hand_when_quiet()

    def pass_unchecked(self, platform: str, reason: str) -> None:
        """An image the front passed on without keeping it (mitmproxy streamed it past the
        limit): counted as seen and skipped, as one it had kept would be."""
        self.counts.seen += 1
        self._skip(platform, reason)

    # -- off the response path -------------------------------------------------

    def _refusal(self, body: bytes) -> str | None:
        """Why an image is not to be kept for checking, if it is not."""
        return self._unfit(body) or (SHED if self.waiting >= self.max_pending else None)

    def _unfit(self, body: bytes) -> str | None:
        if not body:
            return "empty"
        if len(body) > self.max_image_bytes:
            return "too large"
        return None

    def _hand_when_quiet(self) -> None:
        """Set a look for the front's next quiet moment, if waiting images need one."""
        if self._pump is not None or not self._queued or len(self._pending) >= self._workers:
            return  # already set to look, or nothing to hand over, or no worker free
        loop = asyncio.get_running_loop()
        wait = max(self._quiet_seconds - (loop.time() - self._last_busy), CONFIRM_SECONDS) \
            if self._quiet_seconds else 0.0
        self._pump_due = loop.time() + wait
        self._pump = loop.call_at(self._pump_due, self._look_again)

    def _quiet_for(self) -> float:
        """How long the front has handled no request or response, in seconds."""
        return asyncio.get_running_loop().time() - self._last_busy

    def _look_again(self) -> None:
        """Hand waiting images to the pool, one per worker at a time, if the front is quiet: it
        has handled nothing for `quiet_seconds`, and this look came on time (LATE_SECONDS)."""
        self._pump = None
        loop = asyncio.get_running_loop()
        if self._quiet_seconds and loop.time() - self._pump_due > LATE_SECONDS:
            self._last_busy = loop.time()  # held up: not a quiet moment
        while self._queued and len(self._pending) < self._workers:
            if loop.time() - self._last_busy < self._quiet_seconds:
                break
            kept, platform, seen_at = self._queued.popleft()
            assert self._front is not None  # images are queued only by the attached front (take_image)
            self._submit(self._front.describe(kept, platform, seen_at))
        self._hand_when_quiet()

    def _submit(self, seen: Seen) -> None:
        handed = self._hand_over(worker.check, seen.body, seen.coding, self.max_image_bytes, self._protected())
        if handed is None:
            self._skip(seen.platform, WORKER_LOST)
            return
        pool, future = handed
        self._pending.add(future)
        future.add_done_callback(partial(self._checked, seen, pool))

    def _checked(self, seen: Seen, pool: concurrent.futures.Executor, future: asyncio.Future) -> None:
        self._pending.discard(future)
        if future.cancelled():
            return
        self._hand_when_quiet()  # a worker is free
        if not self.waiting:
            self._backlogs.drained()
        if (error := future.exception()) is not None:
            if isinstance(error, ImageError):
                self._skip(seen.platform, error.reason)
            elif isinstance(error, encoding.TooLarge):
                self._skip(seen.platform, "too large")
            elif isinstance(error, encoding.DecodeError):
                self._skip(seen.platform, "undecodable")
            elif isinstance(error, concurrent.futures.BrokenExecutor):
                self._skip(seen.platform, WORKER_LOST)
                self._replace_pool(pool)
            else:
                logger.error("Sentinelle could not check an image: %r", error)
                self._skip(seen.platform, "checker failed")
            return
        self.counts.checked += 1
        checked = future.result()
        if checked is None:
            return  # nothing of it is kept
        found, decoded = checked
        self.counts.matched += 1
        attribution = self.attributions.lookup(seen.image_url)
        if attribution is not None and attribution.account is None and attribution.account_id is not None:
            self.await_names([(attribution.platform, attribution.account_id)])
        sighting = Sighting(
            seen_at=seen.seen_at, image_url=seen.image_url, page_url=seen.page_url,
            host=seen.host, platform=seen.platform, content_type=seen.content_type,
            body=seen.body if decoded is None else decoded, match=found, response_headers=seen.headers,
            attribution=attribution,
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
            # image (counted all the same) would put a record through all of the front's log
            # handlers for every image shed, when the proxy is busiest.
            return
        logger.log(logging.WARNING if reason == SHED else logging.INFO,
                   "Sentinelle skipped an image from %s: %s (%d skipped for this reason so far)",
                   platform, reason, count)


def page_from(headers: Iterable[tuple[str, str]]) -> str | None:
    """The page an image was shown on, as far as the browser told: Referer, else Origin."""
    found = {name.lower(): value for name, value in headers if name.lower() in ("referer", "origin")}
    return found.get("referer") or found.get("origin") or None
