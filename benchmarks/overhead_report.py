"""The proxy overhead benchmark's report (benchmarks/proxy_overhead.py): its figures as markdown,
each table with what it means."""

from __future__ import annotations

import shlex
import sys
import time

from benchmarks.instructions import INSTRUCTION_CONNECTIONS
from benchmarks.scene import (
    ADDON,
    BROWSER_CONNECTIONS,
    CONTROL,
    FEED,
    PLAIN,
    SENTINELLE,
    machine,
)


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
    "add-ons plain mitmproxy loads (server/run/proxy_master.py), so what it adds is its own add-on's work "
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
         "load (server/run/proxy_master.py; mitmproxy offers every event of every flow to each add-on in "
         f"turn). Sentinelle's add-on alone, in plain mitmproxy with all of mitmdump's own add-ons (`mitmdump "
         f"-s server/run/mitmdump_addon.py`, like for like): **{per_image[ADDON] - plain:+,.0f} "
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
