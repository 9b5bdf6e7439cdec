"""Times the feed readers on a 4 MB feed of each platform (the most a feed is read: proxy/
attribution.py MAX_FEED_BYTES), as a worker of the watcher's pool reads it, off the event loop.

    python -m benchmarks.feeds [--megabytes 4] [--rounds 5] [--out FILE]

Each feed repeats one post of a fixture in tests/fixtures/feeds/ with a new id, handle and
image addresses each time, until the body reaches the size asked; the time is that of
`parse_feed` on the whole body (decoding, finding the JSON, walking it, reading every post
and account), best and median of the rounds, in this process (the worker runs the same
function). Writes benchmarks/results/feeds.md, or --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sentinelle.proxy.feeds.attribution import MAX_FEED_BYTES, parse_feed

ROOT = Path(__file__).parents[1]
FEEDS = ROOT / "tests" / "fixtures" / "feeds"


def _grow(template: str, tokens: tuple[str, ...], wrap: Callable[[str], str], size: int) -> tuple[bytes, int]:
    """`wrap(",".join(items))` where each item is `template` with its `tokens` (ids, handles,
    image file names) made unique: every post its own images and account."""
    items, n, total = [], 0, 0
    while total < size - 2048:
        item = template
        for token in tokens:
            item = item.replace(token, f"{token}{n}")
        items.append(item)
        total += len(item) + 1
        n += 1
    body = wrap(",".join(items)).encode()
    while len(body) > size:  # the last item took it over the limit
        items.pop()
        body = wrap(",".join(items)).encode()
    return body, len(items)


def feeds(size: int) -> dict[str, tuple[str, str, bytes, int]]:
    """platform → (what, content type, body, posts in it)."""
    out = {}
    ig = json.loads((FEEDS / "instagram_xdt_home.json").read_text())
    edge = json.dumps(ig["data"]["xdt_api__v1__feed__timeline__connection"]["edges"][0])
    body, n = _grow(edge, ("451000001_1", "461000001_1", "DAhOmEfEeD1", "home.poster"), lambda s: '{"data":{"xdt_api__v1__feed__timeline__connection":{"edges":[' + s + "]}}}", size)
    out["instagram"] = ("xdt home feed (JSON)", "application/json", body, n)
    x = json.loads((FEEDS / "x_home_latest_timeline.json").read_text())
    entry = json.dumps(x["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"][0])
    body, n = _grow(entry, ("GeOrIgInAl10", "the_retweeter", "first_poster", "18620000000000000"), lambda s: '{"data":{"home":{"home_timeline_urt":{"instructions":[{"type":'
                    '"TimelineAddEntries","entries":[' + s + "]}]}}}}", size)
    out["x"] = ("HomeLatestTimeline, retweets (JSON)", "application/json", body, n)
    tt = json.loads((FEEDS / "tiktok_item_list.json").read_text())
    body, n = _grow(json.dumps(tt["itemList"][0]), ("aabbccdd000", "744000000000000000", "tt.someone"), lambda s: '{"itemList":[' + s + '],"hasMore":true}', size)
    out["tiktok"] = ("item_list, photo posts (JSON)", "application/json", body, n)
    page = (FEEDS / "instagram_post_page.html").read_text()
    head, script = page.split("<script", 1)
    script = "<script" + script.split("</script>", 1)[0] + "</script>"
    body, n = _grow(script, ("451000040_1", "451000041_1", "461000040_1", "451000042_1", "DApOsTpAg40",
                                  "page.owner", "DAlOgGeDoU2", "logged.out.poster"), lambda s: head + s.replace("</script>,<script", "</script>\n<script") + "</html>", size)
    out["instagram-html"] = ("post page, data-sjs scripts (HTML)", "text/html", body, n)
    return out


def run(size: int, rounds: int) -> list[dict]:
    rows = []
    for name, (what, content_type, body, posts) in feeds(size).items():
        platform_name = name.split("-")[0]
        times, found = [], 0
        for _ in range(rounds):
            start = time.perf_counter()
            found = len(parse_feed(platform_name, "https://bench/", content_type, body))
            times.append(time.perf_counter() - start)
        rows.append({"feed": name, "what": what, "bytes": len(body), "posts": posts, "images": found,
                     "best_ms": min(times) * 1000, "median_ms": statistics.median(times) * 1000})
    return rows


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=MAX_FEED_BYTES / 2**20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "feeds.md")
    args = parser.parse_args()
    rows = run(int(args.megabytes * 2**20), args.rounds)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        "# Reading a feed: time for a 4 MB body",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}; {machine()}.",
        f"Command: `python -m benchmarks.feeds --megabytes {args.megabytes:g} --rounds {args.rounds}`",
        "(the machine was shared with other work: read the best time as the cost, the median as what it may take).",
        "",
        "| feed | body | posts | images attributed | best | median |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['feed']}: {r['what']} | {r['bytes'] / 2**20:.2f} MB | {r['posts']} | {r['images']} "
                     f"| {r['best_ms']:.0f} ms | {r['median_ms']:.0f} ms |")
    lines += ["", "Read in a worker of the watcher's pool (proxy/fronts/worker.py `read_feed`), never on the event loop: "
              "the browser has the feed before it is read."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
