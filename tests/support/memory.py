"""Test only: a process's resident memory, from Linux's /proc, as it runs."""

from __future__ import annotations

import threading
from pathlib import Path


def tree_memory(pid: int, tree: bool = True) -> tuple[int, int]:
    """(resident, peak resident) bytes of a process, and of its children with `tree`."""
    resident = peak = 0
    for member in (pid, *(children(pid) if tree else ())):
        status = dict(line.split(":", 1) for line in Path(f"/proc/{member}/status").read_text().splitlines())
        resident += int(status["VmRSS"].split()[0]) * 1024
        peak += int(status["VmHWM"].split()[0]) * 1024
    return resident, peak


def children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


class Sampled:
    """The most resident memory one process reached while the block ran, sampled every `every`
    seconds (VmHWM keeps a process's peak since it started: a warm-up may hide a later rise)."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid, self.every = pid, every
        self.before = self.most = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Sampled:
        self.before = self.most = tree_memory(self.pid, tree=False)[0]
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._done.set()
        self._thread.join()

    @property
    def rise(self) -> int:
        return self.most - self.before

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            try:
                self.most = max(self.most, tree_memory(self.pid, tree=False)[0])
            except (OSError, KeyError):
                return  # it exited: the test says why
