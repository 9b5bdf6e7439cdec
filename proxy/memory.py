"""Gives the memory a drained backlog of images held back to the system.

A backlog of images waiting to be checked (up to `MAX_PENDING` of them: some 60 MB of feed
photos) is freed once they are checked, but glibc's allocator keeps freed pages in the
process, scattered between live objects, and the next backlog does not always fit in them:
resident memory stepped up by a quarter over a soak of 100,000 images
(benchmarks/load.py). `malloc_trim(0)` returns every whole free page to the system. Where
the C library is not glibc (macOS, Windows, musl), there is nothing to call and nothing
is done.
"""

from __future__ import annotations

import ctypes
from functools import cache


@cache
def _malloc_trim():
    # The C library the process already runs on, as worker.die_with_parent finds prctl.
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc, or Windows (no CDLL(None) at all)
        return None


def give_back() -> bool:
    """Return the process's free heap pages to the system; whether it could be asked to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
