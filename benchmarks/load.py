"""Load on the real proxy: a burst of images offered at a fixed rate, and a long soak.

    python -m benchmarks.load [--rate 200] [--seconds 60] [--soak 100000]

Burst: images requested through `sentinelle run` at `--rate` per second for `--seconds`
(open loop: a request starts on schedule whether or not the previous ones are done), from a
fake Instagram CDN in its own process. Reports what the client got, and what Sentinelle did
with the images (checked, shed by its bounded queue: counted, never silent) and its memory.
Soak: `--soak` images through the proxy over 16 connections; memory, open files and tasks of
the Sentinelle process after warm-up and at the end. Writes benchmarks/results/load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import ssl
import sys
import time
from pathlib import Path

import aiohttp

from benchmarks.proxy_overhead import percentile
from benchmarks.scene import CDN, FEED, Proxy, Scene, fetch_image, machine

RESULTS = Path(__file__).parent / "results" / "load.md"
MB = 2**20


async def burst(scene: Scene, proxy: Proxy, rate: float, seconds: float) -> dict:
    context = ssl.create_default_context(cafile=str(proxy.ca_file))
    latencies: list[float] = []
    errors = 0
    samples: list[dict] = []
    total = round(rate * seconds)

    async def one(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        latency = await fetch_image(session, proxy.port, n)
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
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        sampler = asyncio.create_task(sample())
        tasks = []
        for n in range(total):
            delay = t0 + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, session)))
        offered_for = time.perf_counter() - t0
        await asyncio.gather(*tasks)
        while (await asyncio.to_thread(scene.stats))["images"]["waiting"]:
            await asyncio.sleep(0.2)
        sampler.cancel()
    final = await asyncio.to_thread(scene.stats)
    return {"offered": total, "offered_for": offered_for, "latencies": latencies, "errors": errors,
            "samples": samples, "final": final}


async def soak(scene: Scene, proxy: Proxy, count: int, connections: int = 16) -> list[dict]:
    """`count` images in 20 legs; after each leg, once the queue is empty, a checkpoint: what
    the process holds then is what it keeps, not images still waiting to be checked."""
    context = ssl.create_default_context(cafile=str(proxy.ca_file))
    checkpoints: list[dict] = []
    step = max(1, count // 20)
    connector = aiohttp.TCPConnector(limit=connections, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker(numbers) -> None:
            for n in numbers:
                async with session.get(f"https://{CDN}/img/{n % len(FEED)}.jpg",
                                       proxy=f"http://127.0.0.1:{proxy.port}") as response:
                    await response.read()

        for leg_start in range(0, count, step):
            numbers = iter(range(leg_start, min(count, leg_start + step)))
            await asyncio.gather(*(worker(numbers) for _ in range(connections)))
            while (stats := await asyncio.to_thread(scene.stats))["images"]["waiting"]:
                await asyncio.sleep(0.1)
            checkpoints.append({"images": min(count, leg_start + step), **stats["process"],
                                "checked": stats["images"]["checked"]})
            print(checkpoints[-1], flush=True)
    return checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--soak", type=int, default=100_000)
    args = parser.parse_args()
    with Scene() as scene:
        proxy = scene.sentinelle()
        burst_result = asyncio.run(burst(scene, proxy, args.rate, args.seconds))
        soak_result = asyncio.run(soak(scene, proxy, args.soak)) if args.soak else []
    write_report(args, burst_result, soak_result)


def write_report(args, b: dict, soak_points: list[dict]) -> None:
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
            "| images | checked | resident memory | open files | tasks |", "| ---: | ---: | ---: | ---: | ---: |",
            *(f"| {p['images']:,} | {p['checked']:,} | {p['rss_bytes'] / MB:.1f} MB | {p['open_fds']} | {p['tasks']} |"
              for p in soak_points),
            "", f"Memory after warm-up ({warm['images']:,} images) to the end: {growth:+.1f} %.", "",
        ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
