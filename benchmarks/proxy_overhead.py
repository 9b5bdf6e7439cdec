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
as a script (`mitmdump -s server/mitmdump_addon.py`) serve `--instructions` images each under
valgrind's callgrind, which counts the instructions they execute (benchmarks/instructions.py):
the added work, free of the machine's noise. `sentinelle run` loads only the mitmproxy add-ons
that carry its traffic (server/proxy_master.py), the third proxy all of mitmdump's: its count is
the add-on's own cost, like for like. `--instructions 0` leaves the leg out.
Writes benchmarks/results/proxy-overhead.md, or --out.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shlex
import ssl
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import aiohttp

from benchmarks import instructions
from benchmarks.scene import FEED, Proxy, Scene, fetch_image, machine
from proxy.addon import SHED

RESULTS = Path(__file__).parent / "results" / "proxy-overhead.md"
PLAIN, CONTROL, SENTINELLE = "mitmproxy alone", "mitmproxy alone (control)", "with Sentinelle"
ADDON = "mitmproxy with Sentinelle's add-on"  # counted under callgrind only
# The fairness wait: how often to ask Sentinelle whether images still wait, and for how long.
QUIET_POLL_SECONDS = 0.05
QUIET_TIMEOUT_SECONDS = 300
# Browsers open at most 6 HTTP/1.1 connections to one host.
BROWSER_CONNECTIONS = 6
# Longer than a whole leg of rounds: the client never closes a connection between them.
KEEP_ALIVE_SECONDS = 3600
# The machine's speed drifts by a fifth from one second to the next (a shared host): the
# paired median needs many rounds to settle.
ROUNDS = 30
# The instruction count: how many images, over how many connections (the most the closed loop uses).
INSTRUCTION_REQUESTS = 500
INSTRUCTION_CONNECTIONS = 32


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


def closed_loop_lines(rows: list[dict], args) -> list[str]:
    lines = [
        f"## Closed loop: {args.requests} fetches per proxy in each of {args.rounds} interleaved rounds",
        "",
        ("| connections | p50 plain | p50 Sentinelle | added p50: paired (pooled) | control's p50: paired "
         "(pooled) | p99 plain | p99 Sentinelle | added p99: paired (pooled) | control's p99: paired (pooled) "
         "| client errors | Sentinelle: checked, shed (of seen) |"),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        plain, control, ours, did = row[PLAIN], row[CONTROL], row[SENTINELLE], row["did"]
        ours_paired, control_paired = row["paired"][SENTINELLE], row["paired"][CONTROL]
        lines.append(
            f"| {row['connections']} | {plain['p50']:.2f} ms | {ours['p50']:.2f} ms | "
            f"**{ours_paired['p50']:+.2f} ms** ({ours['p50'] - plain['p50']:+.2f}) | "
            f"{control_paired['p50']:+.2f} ms ({control['p50'] - plain['p50']:+.2f}) | "
            f"{plain['p99']:.2f} ms | {ours['p99']:.2f} ms | "
            f"**{ours_paired['p99']:+.2f} ms** ({ours['p99'] - plain['p99']:+.2f}) | "
            f"{control_paired['p99']:+.2f} ms ({control['p99'] - plain['p99']:+.2f}) | "
            f"{plain['errors'] + control['errors'] + ours['errors']} | "
            f"{did['checked']}, {did['shed']} ({did['seen']}) |")
    return lines + [
        "", ("Added: Sentinelle's figure minus plain mitmproxy's — paired: the median over the rounds of "
             "the difference within each round; pooled: the difference of the p50 (p99) of all rounds "
             "together. Control's: the same for the second plain mitmproxy — what the benchmark reports "
             "when nothing is added, its noise floor. Connections are opened before the rounds and kept "
             "open (their TLS handshakes are not timed)."),
        ("Shed: passed to the client unchecked because too many images were waiting (counted, shown "
         "by `sentinelle doctor`). Checked includes the checks done between rounds."), "",
        "The paired medians with their 95 % intervals (from the rounds' order, nothing assumed of their spread):", "",
        "| connections | added p50 | control's p50 | added p99 | control's p99 |",
        "| ---: | ---: | ---: | ---: | ---: |",
        *(f"| {row['connections']} | " + " | ".join(
            _with_interval(row["paired"][name], q) for q in ("p50", "p99") for name in (SENTINELLE, CONTROL)) + " |"
          for row in rows),
        "", ("An interval that holds the control's figures as well as Sentinelle's says the rounds cannot "
             "tell them apart; the instruction count below measures what they cannot."), ""]


def _with_interval(paired: dict[str, float], q: str) -> str:
    return f"{paired[q]:+.2f} ms [{paired[q + '_low']:+.2f}, {paired[q + '_high']:+.2f}]"


def paced_lines(paced: dict, args) -> list[str]:
    plain, did, during = paced[PLAIN], paced["did"], paced["during"]
    offered = round(args.paced_rate * args.paced_seconds)
    lines = [
        (f"## Paced feed: {args.paced_rate:g} images/s for {args.paced_seconds:g} s per proxy, "
         f"at most {BROWSER_CONNECTIONS} connections, CDN answering after {args.paced_delay_ms:g} ms"), "",
        "| proxy | images answered (offered) | took | p50 | p99 | added p50 | added p99 | client errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in (PLAIN, CONTROL, SENTINELLE):
        leg = paced[name]
        added = ("—", "—") if name == PLAIN else (f"{leg['p50'] - plain['p50']:+.2f} ms",
                                                 f"{leg['p99'] - plain['p99']:+.2f} ms")
        lines.append(f"| {name} | {leg['n']} ({offered}) | {leg['took']:.1f} s | {leg['p50']:.2f} ms | "
                     f"{leg['p99']:.2f} ms | {added[0]} | {added[1]} | {leg['errors']} |")
    share = did["checked"] / did["seen"] * 100 if did["seen"] else float("nan")
    return lines + [
        "", (f"Sentinelle saw {did['seen']} images: {during['checked']} checked while the feed ran, "
             f"{did['checked'] - during['checked']} after its last image, {did['shed']} shed; "
             f"checked in all: {did['checked']} of {did['seen']} ({share:.0f} %)."), ""]


HOW_IT_IS_FAIR = (
    "Three proxies in the same run: plain mitmproxy with no add-on, Sentinelle, and a second plain "
    "mitmproxy as a control. Before every round of every proxy the run waits until Sentinelle has no "
    "image waiting to be checked, so the checks it defers to the proxy's pauses never run during "
    "another proxy's round (they would slow it and flatter Sentinelle); the order of the proxies "
    "changes each round, so that each runs first, and after each other, as often. The control shows "
    "how far apart two identical proxies measure: Sentinelle's added figures mean something only "
    "beyond it. `sentinelle run` is the proxy a family runs: it carries its traffic with 9 of the 36 "
    "add-ons plain mitmproxy loads (server/proxy_master.py), so what it adds is its own add-on's work "
    "less theirs; the instruction count at the end tells the two apart.")


def instruction_lines(counted: dict | str, rows: list[dict], args) -> list[str]:
    lines = [f"## Instructions per image: {args.instructions} images over {INSTRUCTION_CONNECTIONS} open "
             "connections, each proxy under callgrind", ""]
    if isinstance(counted, str):
        return lines + [f"Left out: {counted}.", ""]
    per_image = {name: counted[name] / args.instructions for name in (PLAIN, SENTINELLE, ADDON)}
    plain = per_image[PLAIN]
    added = {name: (per_image[name] - plain) / plain for name in (SENTINELLE, ADDON)}

    def on_latency(name: str) -> str:
        return "; ".join(f"at {row['connections']} connections, {added[name] * row[PLAIN]['p50']:+.2f} ms "
                         f"to the p50 and {added[name] * row[PLAIN]['p99']:+.2f} ms to the p99" for row in rows)

    return lines + [
        "| proxy | instructions per image | against mitmproxy alone |", "| --- | ---: | ---: |",
        *(f"| {name} | {per_image[name]:,.0f} | " + ("—" if name == PLAIN else
          f"{per_image[name] - plain:+,.0f} ({added[name]:+.2%})") + " |" for name in (PLAIN, SENTINELLE, ADDON)),
        "",
        (f"`sentinelle run` executes **{per_image[SENTINELLE] - plain:+,.0f} instructions per image "
         f"({added[SENTINELLE]:+.2%})**: its add-on's work, less that of the mitmproxy add-ons it does not "
         "load (server/proxy_master.py; mitmproxy offers every event of every flow to each add-on in "
         f"turn). Sentinelle's add-on alone, in plain mitmproxy with all of mitmdump's own add-ons (`mitmdump "
         f"-s server/mitmdump_addon.py`, like for like): **{per_image[ADDON] - plain:+,.0f} "
         f"({added[ADDON]:+.2%})** — its hooks, the images it holds for the checker, its looks for a "
         "quiet moment, and what holding them costs the rest of the process. Images checked while "
         f"counting (a hand-over's own work would count too): {counted['checked'][SENTINELLE]} and "
         f"{counted['checked'][ADDON]} of {args.instructions}. Counted, not timed: the same whatever the "
         "machine is doing."),
        "",
        ("Served back to back, an image's latency is the proxy's work for the images queued before it; "
         "if all of that work is on the images' path, the difference moves the plain proxy's latency by "
         f"the same share (memory and cache effects aside). `sentinelle run`: {on_latency(SENTINELLE)}. "
         f"The add-on alone: {on_latency(ADDON)}."),
        ""]


def write_report(rows: list[dict], paced: dict | None, counted: dict | str | None, args,
                 counts: dict) -> None:
    command = "python -m benchmarks.proxy_overhead " + shlex.join(sys.argv[1:])
    lines = [
        "# Proxy overhead benchmark", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()} (client, fake CDN, the three proxies and Sentinelle's workers share them)",
        f"- command: `{command.strip()}`",
        (f"- HTTPS on loopback; {len(FEED)} distinct 1080-px JPEGs (Kodak fixtures, upscaled, "
         "not enrolled), 12 photos enrolled"),
        "", HOW_IT_IS_FAIR, "",
        *closed_loop_lines(rows, args),
    ]
    if paced:
        lines += paced_lines(paced, args)
    if counted is not None:
        lines += instruction_lines(counted, rows, args)
    lines += [f"Sentinelle's counts at the end of the run: {counts}", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
