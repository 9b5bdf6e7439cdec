"""Measures what Sentinelle behind Squid (ICAP) costs a network: images per second and latency
through Squid alone and through Squid with Sentinelle, side by side in one run.

    flock /tmp/sentinelle-bench.lock python -m benchmarks.squid [--requests 240] [--rounds 4]
        [--concurrency 1 8 32] [--workers 1 2] [--paced-rate 40 120] [--paced-seconds 10] [--out FILE]

On loopback, over HTTPS: a fake Instagram CDN (its own process) serving 1080-px JPEGs of
strangers (100 to 300 KB: over Squid's 64 KB backup limit, so each is given back by the ICAP
service, the costlier of its two answers); two Squids configured by `sentinelle setup squid`,
both decrypting the CDN with Sentinelle's CA, one with ICAP switched off (`icap_enable off`:
Squid alone) and one sending the responses to `sentinelle icap` (the Kodak fixtures enrolled;
no image matches, as in a real feed). The Squid with Sentinelle and its service are started
anew for each number of `--workers` (checking processes).

Closed loop: a client (this process) fetches images as fast as it can through each Squid in
turn, over kept-alive connections, at each number of concurrent connections, in interleaved
rounds (the order alternates) so that drift on the machine falls on both alike; before every
round Sentinelle's checkers are let finish what waits, so their work never runs during Squid
alone's round. Reports images per second, latencies (p50, p90, p99), and how many images the
checkers had checked by the end of Sentinelle's rounds and in all.

Paced: then, through Squid alone and Squid with Sentinelle, images at steady rates (open loop,
as a network's devices scroll), for `--paced-seconds` at each number of workers: the latency
of each, how many images were checked while the traffic ran, and the checkers' CPU per image. Writes benchmarks/results/squid.md, or --out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks.scene import CDN, ENROLLED, FEED, machine, timed_get, wait_for_port
from tests.support.certs import make_origin_certs
from tests.support.icap_process import SentinelleIcap
from tests.support.squid import Squid, missing
from tests.support.watcher import ROOT, free_port

RESULTS = Path(__file__).parent / "results" / "squid.md"
ALONE, WITH = "Squid alone", "Squid + Sentinelle"
KEEP_ALIVE_SECONDS = 3600
DRAIN_TIMEOUT_SECONDS = 120


def cpu_seconds(pid: int, children: bool = False) -> float:
    """The CPU time (user + system) a process has used so far; `children`: its running children's
    instead (the checkers, started by the ICAP service)."""
    pids = [pid]
    if children:
        pids = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class Leg:
    """What one Squid did at one concurrency, over all rounds."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the rounds, by process

    def took(self, latency: float | None) -> None:
        """One request's latency in ms, or None for one that failed."""
        if latency is None:
            self.errors += 1
        else:
            self.latencies.append(latency)

    def add_cpu(self, name: str, seconds: float) -> None:
        self.cpu[name] = self.cpu.get(name, 0.0) + seconds

    def cpu_ms(self, name: str) -> float:
        return self.cpu.get(name, 0.0) * 1000 / len(self.latencies) if self.latencies else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class Client:
    """Kept-alive connections through one Squid, as devices keep theirs to a CDN."""

    def __init__(self, squid_port: int, origin_port: int, ca_file: Path, concurrency: int) -> None:
        self.proxy = f"http://127.0.0.1:{squid_port}"
        self.base = f"https://{CDN}:{origin_port}/img"
        self.concurrency = concurrency
        context = ssl.create_default_context(cafile=str(ca_file))
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            limit=concurrency, ssl=context, keepalive_timeout=KEEP_ALIVE_SECONDS))

    async def one(self, n: int) -> float | None:
        return await timed_get(self.session, f"{self.base}/{n % len(FEED)}.jpg", self.proxy)

    async def round(self, requests: int, leg: Leg) -> None:
        counter = iter(range(requests))

        async def worker() -> None:
            for n in counter:
                leg.took(await self.one(n))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        leg.seconds += time.perf_counter() - started

    async def paced(self, rate: float, seconds: float) -> Leg:
        leg, tasks = Leg(), []

        async def one(n: int) -> None:
            leg.took(await self.one(n))
        started = time.perf_counter()
        for n in range(round(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        leg.seconds = time.perf_counter() - started
        return leg

    async def close(self) -> None:
        await self.session.close()


async def drained(icap: SentinelleIcap) -> dict:
    """Once no image waits to be checked: the service's image counts."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while True:
        images = (await asyncio.to_thread(icap.api, "/api/stats"))["images"]
        if images["waiting"] == 0 or time.monotonic() > deadline:
            return images
        await asyncio.sleep(0.05)


async def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sentinelle-bench-squid-"))
    certs = make_origin_certs(work / "origin", [CDN])
    origin_port = free_port()
    cdn = await asyncio.to_thread(_start_cdn, work, origin_port, certs)
    data_dir = work / "data"
    await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir),
                                             "enroll", *map(str, ENROLLED)], cwd=ROOT, check=True, capture_output=True)
    ca_file = data_dir / "mitmproxy" / "mitmproxy-ca-cert.pem"
    results: dict = {"closed": {}, "paced": {}, "checked": {}, "answers": {}}
    alone = None
    try:
        alone = await asyncio.to_thread(Squid, data_dir, certs.ca_file, [CDN], [free_port()], ("icap_enable off",))
        for workers in args.workers:
            icap = await asyncio.to_thread(SentinelleIcap, data_dir, workers)
            squid = await asyncio.to_thread(Squid, data_dir, certs.ca_file, [CDN], [icap.port])
            try:
                ports = {ALONE: alone.port, WITH: squid.port}
                for concurrency in args.concurrency:
                    clients = {name: Client(port, origin_port, ca_file, concurrency) for name, port in ports.items()}
                    legs = {name: Leg() for name in ports}
                    checked_in_rounds = 0
                    for client in clients.values():  # open the connections, untimed
                        await client.round(2 * concurrency, Leg())
                    before = await drained(icap)
                    for n in range(args.rounds):
                        order = [ALONE, WITH] if n % 2 == 0 else [WITH, ALONE]
                        for name in order:
                            start = await drained(icap)
                            pids = {"squid": (alone if name == ALONE else squid).process.pid}
                            if name == WITH:
                                pids |= {"icap": icap.process.pid, "checkers": icap.process.pid}
                            cpu_before = {k: cpu_seconds(pid, k == "checkers") for k, pid in pids.items()}
                            await clients[name].round(args.requests, legs[name])
                            for k, pid in pids.items():
                                legs[name].add_cpu(k, cpu_seconds(pid, k == "checkers") - cpu_before[k])
                            if name == WITH:  # what the checkers kept up with while the traffic ran
                                end = (await asyncio.to_thread(icap.api, "/api/stats"))["images"]
                                checked_in_rounds += end["checked"] - start["checked"]
                    after = await drained(icap)
                    for client in clients.values():
                        await client.close()
                    results["closed"][(workers, concurrency)] = legs
                    results["checked"][(workers, concurrency)] = {
                        "seen": after["seen"] - before["seen"], "during": checked_in_rounds,
                        "checked": after["checked"] - before["checked"],
                        "skipped": sum(after["skipped"].values()) - sum(before["skipped"].values())}
                for rate in args.paced_rate if args.paced_seconds else ():
                    alone_client = Client(alone.port, origin_port, ca_file, 64)
                    alone_leg = await alone_client.paced(rate, args.paced_seconds)
                    await alone_client.close()
                    client = Client(squid.port, origin_port, ca_file, 64)
                    start = await drained(icap)
                    cpu = cpu_seconds(icap.process.pid, children=True)
                    leg = await client.paced(rate, args.paced_seconds)
                    end = (await asyncio.to_thread(icap.api, "/api/stats"))["images"]
                    after = await drained(icap)
                    cpu = cpu_seconds(icap.process.pid, children=True) - cpu
                    await client.close()
                    checked = after["checked"] - start["checked"]
                    results["paced"][(workers, rate)] = {
                        "alone": alone_leg, "with": leg, "during": end["checked"] - start["checked"],
                        "checked": checked, "seen": after["seen"] - start["seen"],
                        "check_ms": cpu * 1000 / checked if checked else float("nan")}
                results["answers"][workers] = (await asyncio.to_thread(icap.api, "/api/stats"))["images"]["icap"]
            finally:
                await asyncio.to_thread(squid.stop)
                await asyncio.to_thread(icap.stop)
    finally:
        if alone is not None:
            await asyncio.to_thread(alone.stop)
        cdn.terminate()
        cdn.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return results


def report(args, results: dict, seconds: float) -> str:
    lines = [
        "# Squid with Sentinelle (ICAP) beside Squid alone",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine()} (client, fake CDN, both Squids, Sentinelle and its checkers share them)",
        (f"- command: `flock /tmp/sentinelle-bench.lock python -m benchmarks.squid {' '.join(sys.argv[1:])}`"
         f" ({seconds / 60:.1f} min)"),
        (f"- Squid: {_squid_version()}; images: 1080-px JPEGs of strangers (the Kodak fixtures not enrolled), "
         f"{len(ENROLLED)} photos protected"),
        (f"- closed loop: {args.rounds} interleaved rounds of {args.requests} images for each Squid, "
         "kept-alive connections, Sentinelle's checkers let finish before each round"),
        "",
        "## Closed loop: images served back to back",
        "",
        ("| checking processes | connections | images/s: Squid alone / + Sentinelle | p50 ms: alone / + Sentinelle "
         "(added) | p90 ms | p99 ms | errors | images checked while the rounds ran / in all (of seen) |"),
        "| ---: | ---: | --- | --- | --- | --- | ---: | --- |",
    ]
    for (workers, concurrency), legs in results["closed"].items():
        a, w = legs[ALONE], legs[WITH]
        c = results["checked"][(workers, concurrency)]
        p50a, p50w = percentile(a.latencies, 50), percentile(w.latencies, 50)
        lines.append(
            f"| {workers} | {concurrency} | {a.rate:.0f} / {w.rate:.0f} ({(w.rate / a.rate - 1) * 100:+.0f} %) "
            f"| {p50a:.1f} / {p50w:.1f} ({p50w - p50a:+.1f}) "
            f"| {percentile(a.latencies, 90):.1f} / {percentile(w.latencies, 90):.1f} "
            f"| {percentile(a.latencies, 99):.1f} / {percentile(w.latencies, 99):.1f} "
            f"| {a.errors} / {w.errors} | {c['during']} / {c['checked']} (of {c['seen']}; skipped {c['skipped']}) |")
    lines += [
        "",
        ("CPU time per image served, during the rounds (ms of one core): Squid alone; Squid with Sentinelle, "
         "Sentinelle's ICAP service, its checkers (whatever they got of the cores while the traffic ran)"),
        "",
        "| checking processes | connections | Squid alone | Squid (with ICAP) | ICAP service | checkers |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (workers, concurrency), legs in results["closed"].items():
        a, w = legs[ALONE], legs[WITH]
        lines.append(f"| {workers} | {concurrency} | {a.cpu_ms('squid'):.2f} | {w.cpu_ms('squid'):.2f} "
                     f"| {w.cpu_ms('icap'):.2f} | {w.cpu_ms('checkers'):.2f} |")
    if results["paced"]:
        lines += [
            "",
            f"## Paced: images at a steady rate for {args.paced_seconds:g} s, Squid alone then Squid + Sentinelle",
            "",
            ("| checking processes | images/s | p50 ms: alone / + Sentinelle (added) | p99 ms | errors "
             "| checked while the traffic ran / in all (of seen) | checkers' CPU per image checked |"),
            "| ---: | ---: | --- | --- | ---: | --- | ---: |",
        ]
        for (workers, rate), p in results["paced"].items():
            a, w = p["alone"], p["with"]
            p50a, p50w = percentile(a.latencies, 50), percentile(w.latencies, 50)
            lines.append(f"| {workers} | {rate:g} | {p50a:.1f} / {p50w:.1f} ({p50w - p50a:+.1f}) "
                         f"| {percentile(a.latencies, 99):.1f} / {percentile(w.latencies, 99):.1f} "
                         f"| {a.errors} / {w.errors} | {p['during']} / {p['checked']} (of {p['seen']}) "
                         f"| {p['check_ms']:.1f} ms |")
    lines += ["", "## What the ICAP service answered (all legs, by number of checking processes)", ""]
    for workers, answers in results["answers"].items():
        lines.append(f"- {workers}: " + ", ".join(f"{kind}: {n}" for kind, n in sorted(answers.items())))
    return "\n".join(lines) + "\n"


def _start_cdn(work: Path, port: int, certs) -> subprocess.Popen:
    with open(work / "cdn.log", "w") as log:
        cdn = subprocess.Popen([sys.executable, "-m", "benchmarks.fake_cdn", str(port), str(certs.cert_file),
                                str(certs.key_file), *map(str, FEED)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, cdn, work / "cdn.log")
    return cdn


def _squid_version() -> str:
    from tests.support.squid import SQUID
    out = subprocess.run([SQUID, "-v"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=240, help="images per round and Squid")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--paced-rate", type=float, nargs="+", default=[40.0, 120.0])
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if (why := missing()) is not None:
        sys.exit(f"Cannot run: {why}")
    started = time.perf_counter()
    results = asyncio.run(run(args))
    text = report(args, results, time.perf_counter() - started)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
