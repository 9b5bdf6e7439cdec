"""What runs in each of the watcher's worker processes: decode an image's body within a limit,
fingerprint it and search the protected set; decode a feed within a limit and read it for who
posted which image and which accounts look like a child's. All off the proxy's event loop:
a body that inflates to gigabytes stops at its limit here, never in the proxy. Kept apart
from mitmproxy, which a worker never needs.

The protected set (the photos' fingerprints and the children's names) reaches the workers as
the index kept beside the store (proxy/engine/index.py): each task names the manifest of its
newest generation, and a worker opens it once and keeps it, so a task carries only the image's
(or the feed's) bytes. Opening maps the index's segment files, those it has not mapped already:
every worker shares the same pages, and a new generation costs its new segments only.
"""

from __future__ import annotations

import ctypes
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from sentinelle.proxy.engine.fingerprint import fingerprint
from sentinelle.proxy.engine.index import Opened, open_index
from sentinelle.proxy.engine.matcher import Match, Matcher
from sentinelle.proxy.feeds.attribution import MAX_FEED_BYTES, Attribution, parse_feed
from sentinelle.proxy.feeds.gone import Gone, account_gone
from sentinelle.proxy.feeds.lookalikes import Lookalike, find_lookalikes
from sentinelle.proxy.feeds.names import Child, NameWatch
from sentinelle.proxy.fronts import encoding


@dataclass(frozen=True)
class IndexRef:
    """The manifest of the protected set's index to search, and its generation."""

    path: str
    version: int


@dataclass(frozen=True)
class Protected:
    """What the workers search: the photos' fingerprints, and the children's names."""

    matcher: Matcher
    names: NameWatch


def names_of(children: list[dict]) -> NameWatch:
    """What the watcher checks accounts against: every child's names and own handles (as the
    store lists its children: name, aliases, handles)."""
    return NameWatch(Child(c["name"], tuple(c["aliases"]), tuple(map(tuple, c["handles"]))) for c in children)


def load(index: IndexRef, opened: Opened | None = None) -> Protected:
    """The protected set of `index`'s manifest (its `extra` holds the children's names)."""
    found, extra = open_index(Path(index.path), opened)
    return Protected(Matcher(found), names_of(extra.get("children", [])))


_loaded: tuple[IndexRef, Protected] | None = None
_opened = Opened()  # the segments this worker has mapped, kept across generations


def check(body: bytes, coding: str, limit: int, index: IndexRef) -> tuple[Match, bytes | None] | None:
    """Decode an image's body from its Content-Encoding `coding` (at most `limit` bytes), fingerprint
    it and say which protected photo it copies, if any: (the match, the decoded image when the
    body was encoded, else None: the evidence is the image itself), or None.

    Raises encoding.TooLarge or DecodeError for a body that cannot be decoded within the limit,
    ImageError for bytes that are not a usable image."""
    data = encoding.decode(body, coding, limit)
    found = _protected(index).matcher.match(fingerprint(data))
    if found is None:
        return None
    return found, (None if data is body else data)


def read_feed(platform: str, feed_url: str, content_type: str, body: bytes, coding: str,
              index: IndexRef) -> tuple[list[tuple[str, Attribution]], list[Lookalike]]:
    """Who posted which image in a feed response (decoded from `coding`, at most MAX_FEED_BYTES),
    and the accounts it shows that look like a child's (proxy/feeds/lookalikes.py). A body
    that does not decode within the limit names nothing."""
    try:
        body = encoding.decode(body, coding, MAX_FEED_BYTES)
    except encoding.DecodeError:
        return [], []
    found = parse_feed(platform, feed_url, content_type, body)
    return found, find_lookalikes((attribution for _, attribution in found), _protected(index).names)


def read_profile(platform: str, url: str, status: int, content_type: str, body: bytes,
                 coding: str) -> Gone | None:
    """Whether the answer to a request for a reported account's profile says the account is gone
    (proxy/feeds/gone.py), its body decoded from `coding` within MAX_FEED_BYTES; a body that does
    not decode within the limit says nothing."""
    try:
        body = encoding.decode(body, coding, MAX_FEED_BYTES)
    except encoding.DecodeError:
        return None
    return account_gone(platform, url, status, content_type, body)


def _protected(index: IndexRef) -> Protected:
    global _loaded
    if _loaded is None or _loaded[0] != index:
        _loaded = (index, load(index, _opened))
    return _loaded[1]


# Where the kernel has no idle class (macOS, BSD): a lower share of the CPU than the proxy
# and the browser, though not none.
NICENESS = 10


def start() -> None:
    """Initialise a worker: fingerprinting waits for spare CPU, the proxy and browser never
    wait for it. Its imports are done by then, at normal priority."""
    # Ctrl-C in a terminal reaches every process of the group: the main process stops the
    # workers itself, so they must not die with a traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    yield_cpu()


# prctl(2) option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, end this worker when the process that started it ends, however it ends.

    A worker otherwise outlives a `kill -9` of Sentinelle (or a crash): it waits on its
    pipe forever, holding the protected set in memory. Elsewhere, nothing to do: the pool
    stops its workers on a normal exit.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            return
    except (OSError, AttributeError, TypeError):  # not Linux (Windows has no CDLL(None) at all)
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def yield_cpu() -> None:
    """Run this process only on CPU time that nothing else wants, as far as the system allows.

    On Linux, SCHED_IDLE: any thread of another class that wakes up (the proxy's, the
    browser's) takes the CPU from it at once, even from another session or cgroup, where
    under nice 10 it could run on to the end of its slice first; and sharing a CPU with a
    busy thread of its own session it gets ~0.3 % of it, not ~10 %. So on a machine busy to
    its last core images wait, and past `sentinelle_max_pending` waiting they pass
    unchecked, counted (`sentinelle doctor` shows it).
    """
    try:
        for thread in _threads():
            try:
                os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
            except ProcessLookupError:  # that thread has ended since
                pass
        return
    except (AttributeError, OSError):  # not Linux, or refused: fall back to nice
        pass
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):  # Windows has no nice(); a refused nice is harmless
        pass


def _threads() -> list[int]:
    """Every thread of this process, on Linux. numpy and OpenCV start threads of their own
    when imported, before start(), and on Linux each thread has its own scheduling: the
    ones started later inherit it."""
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def ready() -> bool:
    """A task that does nothing: submitted at start so the workers are up before the first image."""
    return True
