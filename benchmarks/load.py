"""Load on the real proxy: a burst of images offered at a fixed rate, and a long soak.

    python -m benchmarks.load [--rate 200] [--seconds 60] [--soak 100000]
                              [--store-copies 300] [--store-rate 20] [--disk-ms 200] [--store-only]

Burst: images requested through `sentinelle run` at `--rate` per second for `--seconds`
(open loop: a request starts on schedule whether or not the previous ones are done), from a
fake Instagram CDN in its own process. Reports what the client got, and what Sentinelle did
with the images (checked, shed by its bounded queue: counted, never silent) and its memory.
Soak: `--soak` images through the proxy over 16 connections; memory, open files and tasks of
the Sentinelle process after warm-up and at the end. Store: copies of enrolled photos, each
an alert's sighting to write, on the disk as it is and on one `--disk-ms` slower a write:
the event loop's longest stall (benchmarks/store_stall.py). Writes benchmarks/results/load.md
(`--store-only`: the store leg alone, printed, nothing written).

No request waits forever: a request that gets no byte for REQUEST_TIMEOUT seconds fails, and
when no image has been answered for STALL_SECONDS the run prints what Sentinelle, its
workers and the fake CDN are doing (`diagnose`); a soak that stalls ends there, and the
report says so. Each process's output is in its log file in the scene's work folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import ssl
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from benchmarks.proxy_overhead import percentile
from benchmarks.scene import CDN, FEED, Proxy, Scene, fetch_image, machine
from benchmarks.store_stall import store_legs, store_section

RESULTS = Path(__file__).parent / "results" / "load.md"
MB = 2**20
# A request that receives nothing for this long fails (aiohttp's default is 5 minutes in all;
# a request waiting for a free connection of the client's own pool is not counted).
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
# No image answered for this long while some are asked for: print a diagnosis.
STALL_SECONDS = 30
# Images checked one by one at the end of a leg: give up waiting for the queue to empty after this.
SETTLE_SECONDS = 600


class Stalled(Exception):
    """The proxy stopped answering, or its queue stopped emptying; the message says what was seen."""


class Progress:
    """Requests under way and when the last one was answered; `watch` diagnoses a stall, once."""

    def __init__(self, scene: Scene, proxy: Proxy) -> None:
        self.scene, self.proxy = scene, proxy
        self.answered = self.outstanding = 0
        self.last = time.monotonic()
        self.diagnosed = False

    def asked(self) -> None:
        if not self.outstanding:
            self.last = time.monotonic()  # idle time counts only while something is asked for
        self.outstanding += 1

    def done(self, answered: bool = True) -> None:
        self.outstanding -= 1
        if answered:
            self.answered += 1
            self.last = time.monotonic()
            self.diagnosed = False

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(5)
            idle = time.monotonic() - self.last
            if self.outstanding and idle >= STALL_SECONDS and not self.diagnosed:
                self.diagnosed = True
                diagnosis = await asyncio.to_thread(diagnose, self.scene, self.proxy)
                print(f"\n!! {self.outstanding} requests under way and no image answered for "
                      f"{idle:.0f} s (after {self.answered:,}):\n{diagnosis}\n", flush=True)


async def burst(scene: Scene, proxy: Proxy, rate: float, seconds: float) -> dict:
    context = ssl.create_default_context(cafile=str(proxy.ca_file))
    latencies: list[float] = []
    errors = 0
    samples: list[dict] = []
    total = round(rate * seconds)
    progress = Progress(scene, proxy)

    async def one(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        progress.asked()
        latency = await fetch_image(session, proxy.port, n)
        progress.done(answered=latency is not None)
        if latency is None:
            errors += 1
        else:
            latencies.append(latency)

    async def sample() -> None:
        while True:
            stats = await asyncio.to_thread(scene.stats)
            samples.append({"t": time.perf_counter() - t0, **stats["images"], **stats["process"]})
            await asyncio.sleep(1)

    connector = aiohttp.TCPConnector(limit=64, ssl=context)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
        t0 = time.perf_counter()
        sampler = asyncio.create_task(sample())
        watchdog = asyncio.create_task(progress.watch())
        tasks = []
        for n in range(total):
            delay = t0 + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, session)))
        offered_for = time.perf_counter() - t0
        await asyncio.gather(*tasks)
        watchdog.cancel()
        await settle(scene, proxy)
        sampler.cancel()
    final = await asyncio.to_thread(scene.stats)
    return {"offered": total, "offered_for": offered_for, "latencies": latencies, "errors": errors,
            "samples": samples, "final": final}


async def settle(scene: Scene, proxy: Proxy) -> dict:
    """Wait until Sentinelle has checked every image it holds; its stats then."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            stats = await asyncio.to_thread(scene.stats)
        except OSError as e:
            diagnosis = await asyncio.to_thread(diagnose, scene, proxy)
            raise Stalled(f"Sentinelle's API did not answer ({e!r}):\n{diagnosis}") from e
        if not stats["images"]["waiting"]:
            return stats
        if time.monotonic() > deadline:
            diagnosis = await asyncio.to_thread(diagnose, scene, proxy)
            raise Stalled(f"{stats['images']['waiting']} images still waiting to be checked after "
                          f"{SETTLE_SECONDS} s:\n{diagnosis}")
        await asyncio.sleep(0.1)


async def soak(scene: Scene, proxy: Proxy, count: int, checkpoints: list[dict],
               connections: int = 16) -> None:
    """`count` images in 20 legs; after each leg, once the queue is empty, a checkpoint (appended
    to `checkpoints`, kept if the run stalls): what the process holds then is what it keeps,
    not images still waiting to be checked. Raises Stalled if a request gets no answer."""
    context = ssl.create_default_context(cafile=str(proxy.ca_file))
    step = max(1, count // 20)
    progress = Progress(scene, proxy)
    connector = aiohttp.TCPConnector(limit=connections, ssl=context)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
        async def worker(numbers) -> None:
            for n in numbers:
                progress.asked()
                try:
                    async with session.get(f"https://{CDN}/img/{n % len(FEED)}.jpg",
                                           proxy=f"http://127.0.0.1:{proxy.port}") as response:
                        await response.read()
                except (TimeoutError, aiohttp.ClientError) as e:
                    diagnosis = await asyncio.to_thread(diagnose, scene, proxy)
                    raise Stalled(f"image {n:,} of the soak failed: {e!r}\n{diagnosis}") from e
                progress.done()

        watchdog = asyncio.create_task(progress.watch())
        try:
            for leg_start in range(0, count, step):
                numbers = iter(range(leg_start, min(count, leg_start + step)))
                try:
                    async with asyncio.TaskGroup() as connections_at_once:
                        for _ in range(connections):
                            connections_at_once.create_task(worker(numbers))
                except* Stalled as failed:  # the first one says it; the others were cancelled
                    raise failed.exceptions[0] from None
                stats = await settle(scene, proxy)
                images = stats["images"]
                checkpoints.append({"images": min(count, leg_start + step), **stats["process"],
                                    "checked": images["checked"], "restarts": images.get("restarts", 0)})
                print(checkpoints[-1], flush=True)
        finally:
            watchdog.cancel()


def diagnose(scene: Scene, proxy: Proxy) -> str:
    """What Sentinelle, its workers and the fake CDN are doing (Linux /proc): enough to tell a
    blocked event loop (API silent, main thread asleep in a write or a lock) from a queue
    that does not drain (API answers, `waiting` stuck, workers idle or gone) from a CDN that
    stopped answering."""
    lines = []
    try:
        stats = scene.stats()
        lines.append(f"Sentinelle's API answers: images {stats['images']}, process {stats['process']}")
    except OSError as e:
        lines.append(f"Sentinelle's API does not answer either ({e!r}): its event loop is blocked")
    lines.append(_describe("Sentinelle", proxy.process.pid, proxy.process.poll()))
    for child in _children(proxy.process.pid):
        lines.append(_describe("  its child", child, None))
    if scene.cdn is not None:
        lines.append(_describe("fake CDN", scene.cdn.pid, scene.cdn.poll()))
    try:
        tail = proxy.log.read_text(errors="replace").splitlines()[-15:]
        lines += [f"Sentinelle's log ({proxy.log}), last lines:", *(f"  {line}" for line in tail)]
    except OSError as e:
        lines.append(f"Sentinelle's log unreadable: {e!r}")
    return "\n".join(lines)


def _describe(name: str, pid: int, exit_code: int | None) -> str:
    """A process's state, memory and open files, and where its threads wait in the kernel."""
    if exit_code is not None:
        return f"{name} (pid {pid}) has exited with {exit_code}"
    proc = Path(f"/proc/{pid}")
    try:
        cmdline = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()[:70]
        state = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
        rss = int(proc.joinpath("statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // MB
        fds = len(list(proc.joinpath("fd").iterdir()))
        threads: Counter[str] = Counter()
        for task in proc.joinpath("task").iterdir():
            wchan = task.joinpath("wchan").read_text() or "running"
            threads[f"{task.joinpath('stat').read_text().rsplit(')', 1)[1].split()[0]}:{wchan}"] += 1
        main = proc.joinpath("task", str(pid), "wchan").read_text() or "running"
    except OSError as e:
        return f"{name} (pid {pid}): unreadable ({e!r})"
    return (f"{name} (pid {pid}, {cmdline!r}): state {state}, {rss} MB, {fds} open files; "
            f"main thread in {main!r}; threads (state:wait) {dict(threads)}")


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in task.joinpath("children").read_text().split()]
        except OSError:
            pass
    return children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--soak", type=int, default=100_000)
    parser.add_argument("--store-copies", type=int, default=300)
    parser.add_argument("--store-rate", type=float, default=20)
    parser.add_argument("--disk-ms", type=float, default=200)
    parser.add_argument("--store-only", action="store_true")
    args = parser.parse_args()
    if args.store_only:
        print("\n".join(store_section(args.store_copies, args.store_rate,
                                      store_legs(args.store_copies, args.store_rate, args.disk_ms))))
        return
    soak_points: list[dict] = []
    stall = None
    with Scene() as scene:
        proxy = scene.sentinelle()
        print(f"Logs of Sentinelle and the fake CDN: {scene.work}", flush=True)
        burst_result = asyncio.run(burst(scene, proxy, args.rate, args.seconds))
        if args.soak:
            try:
                asyncio.run(soak(scene, proxy, args.soak, soak_points))
            except Stalled as e:
                stall = str(e)
                print(f"\n!! The soak stalled: {stall}\n", flush=True)
    store = store_legs(args.store_copies, args.store_rate, args.disk_ms)
    write_report(args, burst_result, soak_points, stall, store_section(args.store_copies, args.store_rate, store))
    if stall:
        sys.exit(1)


def write_report(args, b: dict, soak_points: list[dict], stall: str | None = None,
                 store: list[str] = ()) -> None:
    images = b["final"]["images"]
    shed = sum(n for reason, n in images["skipped"].items() if reason.startswith("shed"))
    rss = [s["rss_bytes"] for s in b["samples"]]
    lat = b["latencies"]
    lines = [
        "# Load benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()} (client, fake CDN, Sentinelle and its workers share them)",
        f"- command: `{('python -m benchmarks.load ' + shlex.join(sys.argv[1:])).strip()}`", "",
        f"## Burst: {args.rate:.0f} images/s offered for {args.seconds:.0f} s", "",
        "| what | figure |", "| --- | ---: |",
        f"| images offered | {b['offered']} in {b['offered_for']:.1f} s |",
        f"| answered to the client | {len(lat)} (errors: {b['errors']}) |",
        f"| client latency p50 / p99 | {percentile(lat, 50):.1f} / {percentile(lat, 99):.1f} ms |",
        f"| seen by the watcher | {images['seen']} |",
        f"| fingerprinted and compared | {images['checked']} |",
        f"| shed by the bounded queue (counted, in /api/stats and the log) | {shed} |",
        f"| other skips | {sum(images['skipped'].values()) - shed} |",
        f"| checker restarted (a worker died) | {images.get('restarts', 0)} |",
        f"| most waiting at once (sampled each second) | {max(s['waiting'] for s in b['samples'])} |",
        f"| resident memory: first sample / peak / end | {rss[0] / MB:.0f} / {max(rss) / MB:.0f} / "
        f"{rss[-1] / MB:.0f} MB |",
        "",
    ]
    if soak_points:
        warm = soak_points[min(1, len(soak_points) - 1)]
        end = soak_points[-1]
        growth = (end["rss_bytes"] - warm["rss_bytes"]) / warm["rss_bytes"] * 100
        lines += [
            f"## Soak: {end['images']:,} images over 16 connections", "",
            "Each row once the images so far have all been checked (queue empty).", "",
            "| images | checked | checker restarts | resident memory | open files | tasks |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
            *(f"| {p['images']:,} | {p['checked']:,} | {p['restarts']} | {p['rss_bytes'] / MB:.1f} MB "
              f"| {p['open_fds']} | {p['tasks']} |" for p in soak_points),
            "", f"Memory after warm-up ({warm['images']:,} images) to the end: {growth:+.1f} %.", "",
        ]
    if stall:
        lines += ["## The soak stalled", "", "```", stall, "```", ""]
    lines += store
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
