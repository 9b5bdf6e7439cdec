"""The watch's feeds and profiles, read in the checking processes: who posted which image (kept
in memory, proxy/feeds/attribution.py), accounts whose names look like a child's (handed on
through `lookalike`), the handle a feed ties to an account a sighting knew by id alone (through
`named`), and whether an account the parent reported is gone (through `gone`).

Part of the watch (`Watch` inherits it, proxy/fronts/watch.py): the same pool, the same loop.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

from sentinelle.proxy.feeds.attribution import (
    MAP_ENTRIES,
    MAX_FEED_BYTES,
    AccountNamed,
    Attribution,
    AttributionMap,
)
from sentinelle.proxy.feeds.gone import Gone, profile_of
from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.proxy.fronts import worker
from sentinelle.proxy.fronts.worker import IndexRef

logger = logging.getLogger("sentinelle")

# Feed responses waiting to be read for attribution; past this they are passed unread.
MAX_PENDING_FEEDS = 32


class FeedReading:
    """The watch's reading of feeds and reported accounts' profiles."""

    _protected: Callable[[], IndexRef]
    _lookalike: Callable[[Lookalike], None] | None
    _named: Callable[[AccountNamed], None] | None
    _unnamed: collections.OrderedDict[tuple[str, str], None]
    _gone: Callable[[Gone], None] | None
    reported: frozenset[tuple[str, str]]
    _feeds: set[asyncio.Future]
    attributions: AttributionMap
    # proxy/fronts/pool.py
    _hand_over: Callable[..., tuple[concurrent.futures.Executor, asyncio.Future] | None]
    _replace_pool: Callable[[concurrent.futures.Executor], None]

    def await_names(self, accounts: Iterable[tuple[str, str]]) -> None:
        """Accounts (platform, id) whose handle alerts wait for: the next feed that ties one of
        these ids to a handle hands the tie on through `named` (the store's, at start)."""
        for account in accounts:
            self._unnamed[account] = None
            self._unnamed.move_to_end(account)
        while len(self._unnamed) > MAP_ENTRIES:
            self._unnamed.popitem(last=False)

    def wants_feed(self, size: int) -> bool:
        """Whether a feed of `size` bytes (as received) will be read: not too large, and room to."""
        return size <= MAX_FEED_BYTES and len(self._feeds) < MAX_PENDING_FEEDS

    def read_feed(self, platform: str, url: str, content_type: str, body: bytes,
                  coding: str = "identity") -> None:
        """Read a feed (its body as received, `coding` its Content-Encoding) for who posted which
        image, and for accounts that look like a child's, in the pool."""
        if not body or not self.wants_feed(len(body)):
            return  # passed unread: its images are still checked, only without an account
        handed = self._hand_over(worker.read_feed, platform, url, content_type, body, coding,
                                 self._protected())
        if handed is None:
            return  # no worker to take it: passed unread
        pool, future = handed
        self._feeds.add(future)
        future.add_done_callback(partial(self._read, pool, datetime.now(UTC)))

    def wants_profile(self, platform: str, url: str) -> bool:
        """Whether `url` asks for the profile of an account the parent reported: its answer,
        whatever its status, is to be read (`read_profile`) for whether the account is gone."""
        handle = profile_of(platform, url) if self.reported and self._gone is not None else None
        return handle is not None and (platform, handle.lower()) in self.reported

    def read_profile(self, platform: str, url: str, status: int, content_type: str, body: bytes,
                     coding: str = "identity") -> None:
        """Read the answer for a reported account's profile in the pool; an answer that it is
        gone is handed on to `gone`, stamped with the time it came."""
        handed = self._hand_over(worker.read_profile, platform, url, status, content_type, body, coding)
        if handed is None:
            return
        _, future = handed
        self._feeds.add(future)
        future.add_done_callback(partial(self._profile_read, datetime.now(UTC)))

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
        if self._named is not None and self._unnamed:
            self._name_accounts(attribution for _, attribution in attributions)
        if (note := self._lookalike) is not None:
            for lookalike in lookalikes:
                try:
                    note(replace(lookalike, seen_at=seen_at))
                except Exception:
                    logger.exception("Sentinelle saw an account that looks like a child's but could not note it")

    def _name_accounts(self, attributions: Iterable[Attribution]) -> None:
        """Hand on each tie of an id to a handle that a sighting's account waits for."""
        assert self._named is not None  # called (by _read) only when there is someone to tell
        for attribution in attributions:
            named = AccountNamed.of(attribution)
            if named is None or (named.platform, named.account_id) not in self._unnamed:
                continue
            del self._unnamed[(named.platform, named.account_id)]
            try:
                self._named(named)
            except Exception:
                logger.exception("Sentinelle learnt who posted a photo but could not note it")

    def _profile_read(self, seen_at: datetime, future: asyncio.Future) -> None:
        self._feeds.discard(future)
        if future.cancelled() or future.exception() is not None or future.result() is None:
            return  # a worker lost with it: the parent's next visit reads it again
        assert self._gone is not None  # profiles are read only for a `gone` to be told (read_profile)
        try:
            self._gone(replace(future.result(), seen_at=seen_at))
        except Exception:
            logger.exception("Sentinelle saw a reported account taken down but could not note it")
