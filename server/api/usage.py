"""What the running process uses — memory, open files, tasks — for `/api/stats` and leak checks."""

from __future__ import annotations

import asyncio
import os
import resource


def process_usage() -> dict[str, int | None]:
    """Resident memory in bytes, open file descriptors and asyncio tasks of this process.

    Read from /proc where there is one (Linux); elsewhere memory is the peak, and the
    descriptors are not counted (None).
    """
    try:
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        fds: int | None = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = None
    try:
        tasks: int | None = len(asyncio.all_tasks())
    except RuntimeError:  # no running loop
        tasks = None
    return {"rss_bytes": rss, "open_fds": fds, "tasks": tasks}
