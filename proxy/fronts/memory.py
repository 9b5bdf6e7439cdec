"""How the proxy process treats the memory images hold while they wait: its C allocator, and
its garbage collector (`spare_the_collector`).

Every image waiting to be checked holds its body, some 150 KB to 2 MB. By default glibc
hands freed memory straight back to the system (a block that large gets pages of its own,
and the top of the heap is trimmed as soon as it is free), so each backlog of waiting
images is paid for again in page faults: measured here, a fresh 150 KB body held costs
86 µs, one written into memory kept from the last backlog 15 µs. Served back to back, the
proxy's time per image is what its latency is made of, so `keep_for_reuse` asks glibc to
keep freed memory for the next backlog, and `Backlogs` returns it with `give_back` once a
drained backlog is followed by a quiet spell. Where the C library is not glibc (macOS,
Windows, musl), there is nothing to call and nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
from collections.abc import Callable
from functools import cache

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# A block at least this large still gets pages of its own, given back when freed: above any
# image the watcher keeps (proxy/fronts/watch.py: MAX_IMAGE_BYTES), and the most glibc accepts on
# 64-bit systems.
_OWN_PAGES_FROM = 32 * 2**20


@cache
def _libc():
    # The C library the process already runs on, as worker.die_with_parent finds prctl.
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except (OSError, TypeError):  # Windows: no CDLL(None) at all
        return None


def keep_for_reuse(limit: int) -> bool:
    """Keep up to `limit` bytes of freed memory in the process for the next backlog, instead of
    returning it to the system at once; whether the C library could be asked to."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _OWN_PAGES_FROM)
                and libc.mallopt(_M_TRIM_THRESHOLD, limit))


def give_back() -> bool:
    """Return the process's free heap pages to the system; whether it could be asked to."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def spare_the_collector() -> None:
    """Put every object alive now (modules, mitmproxy's and the matcher's code, the store) out of
    the garbage collector's sight for the process's life: once the proxy runs, the collections
    that the images held for the checker set off no longer go through them all. Counted under
    callgrind, 500 images back to back (benchmarks/proxy_overhead.py): the collector's share of
    what `sentinelle run` added per image fell by two thirds (some 175,000 instructions of
    290,000); what the add-on adds inside a plain mitmdump fell from 325,000 to 204,000."""
    gc.freeze()


class Backlogs:
    """Gives back the memory of drained backlogs of at least `worth` images, once the proxy has
    been quiet for `quiet_seconds` (`quiet_for()` says how long it has been): until then it stays
    ready for the next backlog, which may come at once."""

    def __init__(self, worth: int, quiet_seconds: float, quiet_for: Callable[[], float]) -> None:
        self._worth, self._quiet_seconds, self._quiet_for = worth, quiet_seconds, quiet_for
        self._held = 0  # images that waited since memory was last given back
        self._look: asyncio.TimerHandle | None = None

    def held(self) -> None:
        """An image is kept waiting."""
        self._held += 1

    def drained(self) -> None:
        """Nothing waits any more: give back the memory, now or after a quiet spell."""
        if self._held < self._worth or self._look is not None:
            return  # not worth it, or already set to look
        quiet_for = self._quiet_for()
        if quiet_for < self._quiet_seconds:
            self._look = asyncio.get_running_loop().call_later(self._quiet_seconds - quiet_for, self._look_again)
            return
        give_back()
        self._held = 0

    def cancel(self) -> None:
        if self._look is not None:
            self._look.cancel()
            self._look = None

    def _look_again(self) -> None:
        self._look = None
        self.drained()
