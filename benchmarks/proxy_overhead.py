"""Measures what Sentinelle's add-on adds to the latency of images going through the proxy.

    python -m benchmarks.proxy_overhead [--requests 200] [--rounds 30] [--concurrency 1 8 32]
        [--paced-rate 30] [--paced-seconds 20] [--paced-delay-ms 40] [--instructions 500]
        [--out FILE]

In one run, on loopback and over HTTPS: a fake Instagram CDN (its own process) serving
1080-px JPEGs, plain mitmproxy with no add-on (`mitmdump`), a second plain mitmproxy (the
control), and `sentinelle run` with the Kodak fixtures enrolled, all intercepting the CDN's
host. Every image is offered to Sentinelle's checker (none matches, as in a real feed).

Closed loop: a client (this process) fetches images as fast as it can through each proxy in
turn, at each number of concurrent connections, in interleaved rounds so that drift on the
machine falls on all alike; the order of the proxies changes each round (`in_turn`). The
connections are opened before the rounds and kept open through them, as a browser keeps its
connections to a CDN (`Client`). Before every round of every proxy the run waits until
Sentinelle has no image waiting to be checked, so its deferred checks never run during
another proxy's round (they would slow that proxy and flatter Sentinelle). The control's
difference from the first plain mitmproxy is the benchmark's noise floor, reported next to
what Sentinelle adds.

Paced feed: then, through each proxy in turn, images are offered at a steady rate (open loop,
as a feed scrolls) over at most 6 connections (a browser's limit per host), the CDN answering
each after a delay, as over the internet. Reports latencies, and how many of the images
Sentinelle saw it checked, during the feed and after it, and how many it shed.
`--paced-seconds 0` leaves this leg out.

Instructions: last, plain mitmproxy, Sentinelle, and plain mitmproxy running Sentinelle's add-on
as a script (`mitmdump -s server/run/mitmdump_addon.py`) serve `--instructions` images each under
valgrind's callgrind, which counts the instructions they execute (benchmarks/instructions.py):
the added work, free of the machine's noise. `sentinelle run` loads only the mitmproxy add-ons
that carry its traffic (server/run/proxy_master.py), the third proxy all of mitmdump's: its count is
the add-on's own cost, like for like. `--instructions 0` leaves the leg out.
Writes benchmarks/results/proxy-overhead.md, or --out.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import ssl
import statistics
import time
from functools import partial
from pathlib import Path

import aiohttp

from benchmarks import instructions
from benchmarks.instructions import INSTRUCTION_CONNECTIONS, INSTRUCTION_REQUESTS
from benchmarks.overhead_report import write_report
from benchmarks.scene import (
    ADDON,
    BROWSER_CONNECTIONS,
    CONTROL,
    PLAIN,
    SENTINELLE,
    Proxy,
    Scene,
    fetch_image,
)
from sentinelle.proxy.fronts.watch import SHED

RESULTS = Path(__file__).parent / "results" / "proxy-overhead.md"
# The fairness wait: how often to ask Sentinelle whether images still wait, and for how long.
QUIET_POLL_SECONDS = 0.05
QUIET_TIMEOUT_SECONDS = 300
# Longer than a whole leg of rounds: the client never closes a connection between them.
KEEP_ALIVE_SECONDS = 3600
# The machine's speed drifts by a fifth from one second to the next (a shared host): the
# paired median needs many rounds to settle.
ROUNDS = 30


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Client:
    """Kept-alive connections to one proxy, as a browser keeps them to a CDN: opened once,
    before the timed rounds, so that every timed image travels on an open connection (the TLS
    handshakes, which Sentinelle's add-on takes no part in, are the slowest and most variable
    part of a fetch, and were the main noise of this benchmark)."""

    def __init__(self, proxy: Proxy, concurrency: int) -> None:
        self.proxy, self.concurrency = proxy, concurrency
        context = ssl.create_default_context(cafile=str(proxy.ca_file))
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            limit=concurrency, ssl=context, keepalive_timeout=KEEP_ALIVE_SECONDS))

    async def open(self) -> None:
        """Open every connection (two fetches on each, untimed)."""
        await self.fetch(2 * self.concurrency)

    async def fetch(self, requests: int) -> tuple[list[float], int]:
        """Latency in ms of `requests` image fetches over the open connections, and the errors."""
        latencies: list[float] = []
        errors = 0
        counter = iter(range(requests))

        async def worker() -> None:
            nonlocal errors
            for n in counter:
                latency = await fetch_image(self._session, self.proxy.port, n)
                if latency is None:
                    errors += 1
                else:
                    latencies.append(latency)
        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return latencies, errors

    async def close(self) -> None:
        await self._session.close()


async def paced_feed(proxy: Proxy, rate: float, seconds: float,
                     cdn_delay_ms: float) -> tuple[list[float], int]:
    """Latency in ms of images offered at `rate` per second for `seconds`, open loop (each
    request starts on schedule, whether or not the earlier ones are done), over at most
    BROWSER_CONNECTIONS connections; a request waiting for a free connection counts that wait."""
    context = ssl.create_default_context(cafile=str(proxy.ca_file))
    latencies: list[float] = []
    errors = 0

    async def one(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        latency = await fetch_image(session, proxy.port, n, cdn_delay_ms)
        if latency is None:
            errors += 1
        else:
            latencies.append(latency)

    connector = aiohttp.TCPConnector(limit=BROWSER_CONNECTIONS, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        tasks = []
        for n in range(round(rate * seconds)):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n, session)))
        await asyncio.gather(*tasks)
    return latencies, errors


async def warm_up(proxy: Proxy) -> None:
    client = Client(proxy, 4)
    try:
        await client.fetch(40)
    finally:
        await client.close()


def wait_until_checked(scene: Scene, proxy: Proxy | None = None) -> dict:
    """Wait until `proxy`'s Sentinelle (by default `sentinelle run`'s) has no image waiting to
    be checked; its image counts then.

    Sentinelle checks images in the proxy's pauses: waiting here, before each round, puts
    those checks between rounds, never in another proxy's round."""
    deadline = time.monotonic() + QUIET_TIMEOUT_SECONDS
    while True:
        images = scene.stats(proxy)["images"]
        if images["waiting"] == 0:
            return images
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Sentinelle still has {images['waiting']} images waiting to be checked after "
                f"{QUIET_TIMEOUT_SECONDS} s of waiting between rounds (its counts: {images}); its log: "
                f"{(proxy or scene.proxies[SENTINELLE]).log}")
        time.sleep(QUIET_POLL_SECONDS)


def in_turn(proxies: list[Proxy], round_number: int) -> list[Proxy]:
    """The proxies in this round's order: round r starts with proxy r mod n, so each proxy runs
    first as often as the others. Rotating alone would keep the cycle (with three, Sentinelle
    would always follow plain mitmproxy within a round), so every other n rounds the cycle runs
    backwards: over 2n rounds each proxy follows each other as often, and none always inherits
    another's leftovers (heat, caches, the CDN's state)."""
    n, start = len(proxies), round_number % len(proxies)
    step = -1 if (round_number // n) % 2 else 1
    return [proxies[(start + step * k) % n] for k in range(n)]


def sentinelle_did(before: dict, after: dict) -> dict:
    """What Sentinelle did with images between two of its counts (`/api/stats` → images)."""
    return {what: after[what] - before[what] for what in ("seen", "checked")} | {
        "shed": after["skipped"].get(SHED, 0) - before["skipped"].get(SHED, 0)}


def latency(latencies: list[float], errors: int) -> dict:
    """How many answered, their p50 and p99 in ms, and the client's errors."""
    return {"n": len(latencies), "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": percentile(latencies, 99) if latencies else float("nan"), "errors": errors}


async def closed_loop(scene: Scene, concurrency: int, rounds: int, requests: int) -> dict:
    """Interleaved rounds of `requests` fetches per proxy at `concurrency` kept-alive
    connections: each proxy's p50 and p99 over all its rounds, and for Sentinelle and the
    control the median, over the rounds, of their difference from plain mitmproxy in the same
    round (`paired`)."""
    proxies = list(scene.proxies.values())
    clients = {p.name: Client(p, concurrency) for p in proxies}
    results: dict[str, tuple[list[float], int]] = {p.name: ([], 0) for p in proxies}
    each_round: list[dict[str, dict]] = []
    try:
        for client in clients.values():
            await client.open()
        before = await asyncio.to_thread(wait_until_checked, scene)
        for r in range(rounds):
            this_round = {}
            for proxy in in_turn(proxies, r):
                await asyncio.to_thread(wait_until_checked, scene)
                latencies, errors = await clients[proxy.name].fetch(requests)
                results[proxy.name] = (results[proxy.name][0] + latencies, results[proxy.name][1] + errors)
                this_round[proxy.name] = latency(latencies, errors)
            each_round.append(this_round)
        did = sentinelle_did(before, await asyncio.to_thread(wait_until_checked, scene))
    finally:
        for client in clients.values():
            await client.close()
    return {"connections": concurrency, "did": did, "paired": paired(each_round),
            **{name: latency(*measured) for name, measured in results.items()}}


def paired(each_round: list[dict[str, dict]]) -> dict[str, dict[str, float]]:
    """For Sentinelle and the control, the median over rounds of their p50 and p99 minus plain
    mitmproxy's in the same round, and its 95 % interval (`p50_low`, `p50_high`, …). The
    machine drifts from round to round (the same proxy's CPU time per request moves by a
    third); within a round the proxies run seconds apart, so the difference taken there, then
    its median, is much less noisy than the pooled figures."""
    out: dict[str, dict[str, float]] = {}
    for name in (SENTINELLE, CONTROL):
        out[name] = {}
        for q in ("p50", "p99"):
            differences = [r[name][q] - r[PLAIN][q] for r in each_round]
            low, high = median_interval(differences)
            out[name] |= {q: statistics.median(differences), f"{q}_low": low, f"{q}_high": high}
    return out


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A `confidence` interval for the median of `values`, from their order (it assumes nothing
    of their distribution): the k-th smallest and k-th largest, k the most ranks that each fall
    below the median with a chance of at most (1 - confidence) / 2."""
    ordered, n = sorted(values), len(values)
    k, below = 0, 0.0
    while k < n // 2 and below + math.comb(n, k) / 2**n <= (1 - confidence) / 2:
        below += math.comb(n, k) / 2**n
        k += 1
    if k == 0:
        return float("-inf"), float("inf")  # too few rounds to say
    return ordered[k - 1], ordered[n - k]


def paced_leg(scene: Scene, rate: float, seconds: float, cdn_delay_ms: float) -> dict:
    """The paced feed through each proxy in turn; for Sentinelle, what it checked during the
    feed (counts read as the last image arrives) and in all (once nothing waits any more)."""
    leg: dict = {}
    for proxy in scene.proxies.values():
        before = wait_until_checked(scene)
        started = time.perf_counter()
        latencies, errors = asyncio.run(paced_feed(proxy, rate, seconds, cdn_delay_ms))
        leg[proxy.name] = latency(latencies, errors) | {"took": time.perf_counter() - started}
        if proxy.name == SENTINELLE:
            leg["during"] = sentinelle_did(before, scene.stats()["images"])
            leg["did"] = sentinelle_did(before, wait_until_checked(scene))
    return leg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round and proxy")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds per proxy")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--paced-rate", type=float, default=30, help="paced feed: images per second")
    parser.add_argument("--paced-seconds", type=float, default=20,
                        help="paced feed: seconds per proxy (0: leave it out)")
    parser.add_argument("--paced-delay-ms", type=float, default=40, help="paced feed: the CDN's delay")
    parser.add_argument("--instructions", type=int, default=INSTRUCTION_REQUESTS,
                        help="images counted under callgrind per proxy (0: leave the leg out)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the report")
    args = parser.parse_args()

    with Scene() as scene:
        scene.plain_mitmproxy(PLAIN, "plain")
        scene.sentinelle()
        scene.plain_mitmproxy(CONTROL, "control")
        for proxy in scene.proxies.values():  # warm up: TLS leaves minted, workers spawned
            asyncio.run(warm_up(proxy))
        rows = []
        for concurrency in args.concurrency:
            rows.append(asyncio.run(closed_loop(scene, concurrency, args.rounds, args.requests)))
            print(rows[-1], flush=True)
        paced = None
        if args.paced_seconds > 0:
            paced = paced_leg(scene, args.paced_rate, args.paced_seconds, args.paced_delay_ms)
            print(paced, flush=True)
        counts = wait_until_checked(scene)
    counted: dict | str | None = None
    if args.instructions > 0:
        counted = instructions.missing() or asyncio.run(instruction_leg(args.instructions))
        print(counted, flush=True)
    write_report(rows, paced, counted, args, counts)


async def instruction_leg(requests: int) -> dict[str, int]:
    """Instructions each proxy executes to serve `requests` images over INSTRUCTION_CONNECTIONS
    open connections, under callgrind, in a scene of their own: plain mitmproxy, `sentinelle
    run`, and plain mitmproxy running Sentinelle's add-on (the add-on's own cost, like for like);
    and how many images each Sentinelle checked meanwhile (`checked`)."""
    counted: dict = {"checked": {}}
    with Scene() as scene:
        wrap, start = instructions.callgrind, instructions.START_TIMEOUT_SECONDS
        outs = {name: scene.work / f"{confdir}.callgrind" for name, confdir in
                ((PLAIN, "plain"), (SENTINELLE, "sentinelle"), (ADDON, "addon"))}
        proxies = [scene.plain_mitmproxy(PLAIN, "plain", wrap(outs[PLAIN]), start),
                   scene.sentinelle(wrap(outs[SENTINELLE]), start),
                   scene.mitmproxy_with_addon(ADDON, wrap(outs[ADDON]), start)]
        for proxy in proxies:
            client = Client(proxy, INSTRUCTION_CONNECTIONS)
            try:
                await client.open()
                if proxy.api:  # the warm-up images checked first
                    before = await asyncio.to_thread(wait_until_checked, scene, proxy)
                counted[proxy.name] = await instructions.count(proxy, outs[proxy.name],
                                                               partial(client.fetch, requests))
                if proxy.api:  # images handed over while counting, and checked
                    counted["checked"][proxy.name] = scene.stats(proxy)["images"]["checked"] - before["checked"]
            finally:
                await client.close()
    return counted


if __name__ == "__main__":
    main()
