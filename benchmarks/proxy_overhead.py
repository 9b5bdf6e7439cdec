"""Measures what Sentinelle's add-on adds to the latency of images going through the proxy.

    python -m benchmarks.proxy_overhead [--requests 400] [--rounds 4] [--concurrency 1 8 32] [--out FILE]

In one run, on loopback and over HTTPS: a fake Instagram CDN (its own process) serving
1080-px JPEGs, plain mitmproxy with no add-on (`mitmdump`), and `sentinelle run` with
the Kodak fixtures enrolled, both intercepting the CDN's host. A client (this process)
fetches the images through each proxy in turn, rounds interleaved so that drift on the
machine falls on both alike, at each number of concurrent connections. Every image is
offered to Sentinelle's checker (none matches, as in a real feed); the images it shed while
its workers were behind are counted for each number of connections. Writes
benchmarks/results/proxy-overhead.md, or --out.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import ssl
import statistics
import sys
import time
from pathlib import Path

import aiohttp

from benchmarks.scene import FEED, Scene, fetch_image, machine
from proxy.addon import SHED

RESULTS = Path(__file__).parent / "results" / "proxy-overhead.md"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def fetch_all(proxy_port: int, ca_file: Path, concurrency: int, requests: int) -> tuple[list[float], int]:
    """Latency in ms of `requests` image fetches over `concurrency` kept-alive connections."""
    context = ssl.create_default_context(cafile=str(ca_file))
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal errors
            for n in counter:
                latency = await fetch_image(session, proxy_port, n)
                if latency is None:
                    errors += 1
                else:
                    latencies.append(latency)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round and proxy")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per proxy")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the report")
    args = parser.parse_args()

    with Scene() as scene:
        scene.plain_mitmproxy()
        scene.sentinelle()
        for proxy in scene.proxies.values():  # warm up: TLS leaves minted, workers spawned
            asyncio.run(fetch_all(proxy.port, proxy.ca_file, 4, 40))
        rows = []
        for concurrency in args.concurrency:
            results = {name: ([], 0) for name in scene.proxies}
            before = scene.stats()["images"]
            for _ in range(args.rounds):
                for name, proxy in scene.proxies.items():
                    latencies, errors = asyncio.run(fetch_all(proxy.port, proxy.ca_file, concurrency,
                                                              args.requests))
                    results[name] = (results[name][0] + latencies, results[name][1] + errors)
            (plain_ms, plain_errors), (ours_ms, our_errors) = results.values()
            rows.append((concurrency, len(plain_ms), len(ours_ms),
                         statistics.median(plain_ms), statistics.median(ours_ms),
                         percentile(plain_ms, 99), percentile(ours_ms, 99), plain_errors + our_errors,
                         shed_since(before, scene.stats()["images"])))
            print(rows[-1], flush=True)
        counts = scene.stats()["images"]
    write_report(rows, args, counts)


def shed_since(before: dict, after: dict) -> tuple[int, int]:
    """Images Sentinelle shed, and images it saw, between two of its counts (`/api/stats`)."""
    return (after["skipped"].get(SHED, 0) - before["skipped"].get(SHED, 0),
            after["seen"] - before["seen"])


def write_report(rows, args, counts: dict) -> None:
    command = "python -m benchmarks.proxy_overhead " + shlex.join(sys.argv[1:])
    lines = [
        "# Proxy overhead benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()} (client, fake CDN, both proxies and Sentinelle's workers share them)",
        f"- command: `{command.strip()}`",
        f"- {args.rounds} interleaved rounds of {args.requests} HTTPS image fetches per proxy and concurrency; "
        f"{len(FEED)} distinct 1080-px JPEGs (Kodak fixtures, upscaled, not enrolled), 12 photos enrolled",
        "", "| connections | requests (plain / Sentinelle) | p50 plain | p50 Sentinelle | added p50 | "
        "p99 plain | p99 Sentinelle | added p99 | client errors | images shed (of seen) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c, n_plain, n_ours, p50a, p50b, p99a, p99b, errors, (shed, seen) in rows:
        lines.append(f"| {c} | {n_plain} / {n_ours} | {p50a:.2f} ms | {p50b:.2f} ms | {p50b - p50a:+.2f} ms | "
                     f"{p99a:.2f} ms | {p99b:.2f} ms | {p99b - p99a:+.2f} ms | {errors} | "
                     f"{shed} ({seen}) |")
    lines += ["", "Images shed: passed to the client unchecked because too many were waiting for a worker "
              "(counted, shown by `sentinelle doctor`).",
              "", f"Sentinelle's counts at the end of the run: {counts}", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
