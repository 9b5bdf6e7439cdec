"""proxy/memory.py: the memory of a drained backlog goes back to the system."""

from __future__ import annotations

import platform
import resource

import pytest

from proxy import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_memory_goes_back_to_the_system():
    def resident_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    # Once a large block has been freed, glibc serves blocks that size from its heap rather
    # than from pages of their own (its mmap threshold rises), as in a long-running proxy.
    large = bytes(1_000_000)
    del large
    # A backlog of 200 feed-sized images, all but every tenth then freed: the survivors pin
    # the heap, so the allocator alone keeps most of the freed pages.
    held = [bytes(230_000) for _ in range(200)]
    survivors = held[::10]
    del held
    before = resident_mb()
    assert memory.give_back()
    assert resident_mb() < before - 20, "the freed pages stayed in the process"
    del survivors


def test_without_glibc_nothing_is_asked(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.give_back() is False
