"""proxy/fronts/memory.py: the memory a backlog held is kept for the next one, and goes back to the system."""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
import textwrap

import pytest

from sentinelle.proxy.fronts import memory


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


# Two backlogs of 200 feed-sized images, one after the other; the page faults of the second.
_SECOND_BACKLOG_FAULTS = textwrap.dedent("""
    import resource, sys
    from sentinelle.proxy.fronts import memory
    if sys.argv[1] == "keep":
        assert memory.keep_for_reuse(128 * 2**20)
    body = bytes(150_000)
    for backlog in range(2):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        held = [body[:-1] + b"x" for _ in range(200)]  # each a fresh copy, as each response is
        del held
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_backlog_finds_the_memory_the_last_one_held():
    def faults(mode: str) -> int:
        # A process of its own: the allocator's settings are the whole process's.
        done = subprocess.run([sys.executable, "-c", _SECOND_BACKLOG_FAULTS, mode], capture_output=True,
                              text=True, check=True)
        return int(done.stdout)

    # 200 images of 150 KB are some 7,300 pages: by default each backlog faults them in anew.
    assert faults("default") > 5000
    assert faults("keep") < 500


def test_without_glibc_nothing_is_asked(monkeypatch):
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.give_back() is False
    assert memory.keep_for_reuse(2**20) is False


def test_what_is_alive_when_the_proxy_starts_is_spared_by_the_collector():
    # A process of its own: a freeze is the whole process's, for its life.
    frozen = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import gc
        from sentinelle.proxy.fronts import memory
        before = gc.get_freeze_count()
        memory.spare_the_collector()
        print(before, gc.get_freeze_count(), sum(gc.get_count()))
    """)], capture_output=True, text=True, check=True).stdout.split()
    before, after, still_tracked = map(int, frozen)
    assert before == 0 and after > 1000 and still_tracked < 100
