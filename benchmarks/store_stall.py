"""The load benchmark's store leg: how long the proxy's event loop is ever held while alerts
are written, on the disk as it is and on a slow one (`python -m benchmarks.load`; alone:
`python -m benchmarks.load --store-only`, which prints and writes nothing).

`sentinelle run` with 12 photos enrolled; a fake Instagram CDN serving them (every image a
copy, so every one is an alert's sighting to write) and, between them, strangers' photos.
The feed is asked for at `--rate` images per second, over 6 connections as a browser does,
once with the disk as it is and once with every fsync and every sighting's write
`--disk-ms` slower (benchmarks/slow_disk.py, loaded into the proxy as a mitmproxy script).
A timer in the proxy's loop every 2 ms notes how late it ran: the longest lateness is how
long the loop was ever held, the browser's requests with it. Goal: under 5 ms, slow disk or
not. Then, on the disk as it is, the parent exports a case file of EXPORT_SIGHTINGS
sightings (ZIP, HTML and PDF) through the API while the feed goes on: the same goal.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp

from benchmarks.proxy_overhead import percentile
from benchmarks.scene import CDN, ENROLLED, FEED, Scene

SLOW_DISK = Path(__file__).with_name("slow_disk.py")
GOAL_MS = 5.0
EXPORT_SIGHTINGS = 50


async def feed(proxy_port: int, count: int, rate: float, served: int) -> list[float]:
    """Ask for `count` images at `rate` per second; each is a distinct address (a distinct sighting)."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=6, ssl=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(n: int) -> None:
            started = time.perf_counter()
            async with session.get(f"https://{CDN}/img/{n % served}.jpg?sig={n}",
                                   proxy=f"http://127.0.0.1:{proxy_port}") as response:
                await response.read()
                if response.status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)

        t0 = time.perf_counter()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies


def settled(scene: Scene, matched: int, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = scene.stats()
        images = stats["images"]
        if not images["waiting"] and not images["unsaved"] and images["matched"] >= matched:
            return stats
        time.sleep(0.2)
    raise TimeoutError(f"Sentinelle did not write every sighting in {timeout} s: {scene.stats()}")


async def export(scene: Scene, alerts: list[dict], sightings: int = EXPORT_SIGHTINGS) -> dict:
    """Export the case file of alerts holding at least `sightings` sightings, as the review page
    does; what it held and how long it took."""
    chosen, held = [], 0
    for alert in sorted(alerts, key=lambda a: -a["count"]):
        if held >= sightings:
            break
        chosen.append(alert["id"])
        held += alert["count"]
    query = "&".join(f"alert={i}" for i in chosen)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{scene.api_port}/api/casefile?{query}&lang=fr&country=FR",
                               headers={"Authorization": f"Bearer {scene.token}"}) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"the export failed: {response.status} {body[:200]!r}")
    return {"alerts": len(chosen), "sightings": held, "bytes": len(body),
            "seconds": time.perf_counter() - started}


async def api_alerts(scene: Scene) -> list[dict]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{scene.api_port}/api/alerts",
                           headers={"Authorization": f"Bearer {scene.token}"}) as response:
        return await response.json()


async def leg(copies: int, rate: float, disk_ms: float) -> dict:
    with Scene(served=tuple(ENROLLED) + tuple(FEED)) as scene:
        stalls = scene.work / "stalls.json"
        proxy = scene.sentinelle(scripts=[SLOW_DISK], env={
            "SENTINELLE_BENCH_DISK_MS": str(disk_ms), "SENTINELLE_BENCH_STALLS": str(stalls)})
        await feed(proxy.port, 12, 4, len(ENROLLED))  # warm-up: pool, index, first connections
        await asyncio.to_thread(settled, scene, 12)
        start = time.time()
        latencies = await feed(proxy.port, copies, rate, len(scene.served))
        fed = time.time()
        matches = 12 + sum(1 for n in range(copies) if n % len(scene.served) < len(ENROLLED))
        stats = await asyncio.to_thread(settled, scene, matches)
        written_after = time.time() - fed
        await asyncio.sleep(1.0)  # the watch writes its file every half second
        watch = json.loads(stalls.read_text())
        late = [ms for when, ms in watch["late"] if when >= start]
        exported = None
        if not disk_ms:  # the export, while a feed goes on, on the disk as it is
            alerts = await api_alerts(scene)
            export_start = time.time()
            browsing = asyncio.create_task(feed(proxy.port, 40, 4, len(scene.served)))
            exported = await export(scene, alerts)
            await browsing
            await asyncio.sleep(1.0)
            during = [ms for when, ms in json.loads(stalls.read_text())["late"] if when >= export_start]
            exported |= {"longest_stall_ms": max(during, default=0.0),
                         "over_goal": sum(1 for ms in during if ms > GOAL_MS)}
        return {"export": exported,
            "disk_ms": disk_ms, "answered": len(latencies), "asked": copies,
            "matched": stats["images"]["matched"] - 12, "expected_matches": matches - 12,
            "alerts": stats["alerts"], "client_p50": percentile(latencies, 50),
            "client_p99": percentile(latencies, 99), "longest_stall_ms": max(late, default=0.0),
            "over_goal": sum(1 for ms in late if ms > GOAL_MS), "ticks": watch["ticks"],
            "written_after_s": written_after,
        }


def _disk(ms: float) -> str:
    return f"+{ms:g} ms a write" if ms else "as it is"


def store_legs(copies: int, rate: float, disk_ms: float) -> list[dict]:
    """Both legs, the disk as it is then slow, each with a `sentinelle run` of its own."""
    return [asyncio.run(leg(copies, rate, 0)), asyncio.run(leg(copies, rate, disk_ms))]


def store_section(copies: int, rate: float, legs: list[dict]) -> list[str]:
    """The report's section, as lines of Markdown."""
    return [
        "## The store off the proxy's loop", "",
        f"{copies} images asked for at {rate:g}/s over 6 connections through `sentinelle run`, "
        f"{len(ENROLLED)} of every {len(ENROLLED) + len(FEED)} a copy of an enrolled photo (each a sighting "
        "to write, with its evidence), each leg with a `sentinelle run` of its own; the proxy's event loop "
        "watched by a timer every 2 ms. Slow disk: every fsync and every sighting's write delayed "
        "(benchmarks/slow_disk.py, loaded into the proxy).", "",
        "| disk | images answered | sightings written | client p50 / p99 (ms) | event loop's longest stall (ms) "
        f"| stalls over {GOAL_MS:g} ms | last sighting written after the feed (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {_disk(r['disk_ms'])} | {r['answered']}/{r['asked']} | {r['matched']}/{r['expected_matches']} "
          f"| {r['client_p50']:.1f} / {r['client_p99']:.1f} | **{r['longest_stall_ms']:.1f}** | {r['over_goal']} "
          f"| {r['written_after_s']:.1f} |" for r in legs),
        "", f"Goal: the loop never held {GOAL_MS:g} ms, slow disk or not. The longest stall includes the "
        "proxy's own work on a request (TLS, HTTP), the same on either disk.", "",
        *export_lines(legs[0]["export"]),
    ]


def export_lines(exported: dict | None) -> list[str]:
    if exported is None:
        return []
    return [
        "### A case file exported while the feed goes on", "",
        f"`GET /api/casefile` of {exported['alerts']} alerts holding {exported['sightings']} sightings "
        f"(report in French, ZIP with HTML and PDF, {exported['bytes'] / 2**20:.1f} MB), while 40 more images "
        "are fetched at 4/s: the case file is written in a process of its own (server/api/alerts.py `build_away`).", "",
        "| export took (s) | event loop's longest stall during it (ms) | stalls over the goal |",
        "| ---: | ---: | ---: |",
        f"| {exported['seconds']:.1f} | **{exported['longest_stall_ms']:.1f}** | {exported['over_goal']} |", "",
    ]
