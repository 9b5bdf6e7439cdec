"""The feed readers on what the platforms really sent, and on the most a feed can be: how many
of each capture's images they name an account for, and how long they take.

    python -m benchmarks.feeds [--captures DIR] [--megabytes 4] [--rounds 5] [--out FILE] [--docs]

Captures: every response of --captures (default ../shared/datasets/feeds/, one folder a
platform, each with its SOURCES.tsv) is read as a worker reads it (`parse_feed`, into the
watch's `AttributionMap`); its images are counted as issue 29 counts them
(benchmarks/feed_census.py: the distinct images of the platform's image servers, videos,
scripts and the sites' own icons left out), each a post's image or an account's picture, and
an image "has an account" when the readers name its account, by handle or by the account's id
(the alert then says "account id …, post …" until a feed names the handle). Each capture is
read alone; then, as one browsing session would, every capture of the platform into one map
(an id one capture gives alone, another names by handle).

4 MB: each feed repeats one post of a fixture in tests/fixtures/feeds/ with a new id, handle
and image addresses each time, until the body reaches the size asked (the most a feed is read:
proxy/feeds/attribution.py MAX_FEED_BYTES).

Times are of `parse_feed` on the whole body (decoding, finding the JSON or walking the page,
reading every post and account), best and median of the rounds, in this process (the worker
runs the same function). Writes benchmarks/results/feeds.md, or --out; with --docs, puts the
platforms' table in docs/parents.md's "Who posted it" section too.
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

from benchmarks.feed_census import ACCOUNT, CAPTURES, POST, captures, census, content_type
from sentinelle.proxy.feeds.attribution import MAX_FEED_BYTES, AttributionMap, parse_feed

ROOT = Path(__file__).parents[1]
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
# The parents' guide's table of what the readers name on the captures, between these two lines.
DOCS = ROOT / "docs" / "parents.md"
DOCS_TABLE = ("<!-- benchmarks.feeds: captures -->", "<!-- /benchmarks.feeds -->")


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
    page = (FEEDS / "facebook_mobile_group.html").read_text()
    article = page[page.index("<article"):page.index("</article>") + len("</article>")]
    head, tail = page.split(article, 1)
    body, n = _grow(article, ("1090000000000071", "100000000000071", "1090000000000072", "471000072", "Membre Copieur",
                              "481000071"), lambda s: head + s.replace("</article>,<article", "</article>\n<article") + tail, size)
    out["facebook-html"] = ("m.facebook.com group page, stories in the HTML", "text/html", body, n)
    return out


def timed(platform: str, content_type: str, body: bytes, rounds: int) -> tuple[list, list[float]]:
    """What `parse_feed` says of a body, and how long each round took (seconds)."""
    times, found = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        found = parse_feed(platform, "https://bench/", content_type, body)
        times.append(time.perf_counter() - start)
    return found, times


def run(size: int, rounds: int) -> list[dict]:
    rows = []
    for name, (what, sent_as, body, posts) in feeds(size).items():
        found, times = timed(name.split("-")[0], sent_as, body, rounds)
        rows.append({"feed": name, "what": what, "bytes": len(body), "posts": posts, "images": len(found),
                     "best_ms": min(times) * 1000, "median_ms": statistics.median(times) * 1000})
    return rows


def named(seen: AttributionMap, url: str) -> str | None:
    """"handle", "id" (the account named by its id alone), or None: what the readers say of an image."""
    got = seen.lookup(url)
    if got is None or not (got.account or got.account_id):
        return None
    return "handle" if got.account else "id"


def read_captures(folder: Path, rounds: int) -> list[dict]:
    """A row per capture: its images, those with an account (by handle, by id alone), the time to read it."""
    rows, sessions = [], {}
    for network, path in captures(folder):
        body = path.read_bytes()
        found, times = timed(network, content_type(path), body, rounds)
        alone = AttributionMap()
        alone.add_all(found)
        session = sessions.setdefault(network, AttributionMap())
        session.add_all(found)
        images = census(network, body)
        row = {"platform": network, "capture": path.name, "bytes": len(body), "best_ms": min(times) * 1000,
               "median_ms": statistics.median(times) * 1000, "images": images}
        for kind in (POST, ACCOUNT):
            said = [named(alone, url) for of, url in images.values() if of == kind]
            row[kind] = (len(said), sum(1 for s in said if s), sum(1 for s in said if s == "id"))
        rows.append(row)
    for row in rows:  # every capture of the platform read into one map: a browsing session
        session = sessions[row["platform"]]
        row["session"] = sum(1 for _, url in row["images"].values() if named(session, url) == "handle")
    return rows


def platforms(rows: list[dict]) -> dict[str, dict]:
    """Per platform: captures, (images, with an account, by id alone) of posts and of accounts, session total."""
    out: dict[str, dict] = {}
    for row in rows:
        total = out.setdefault(row["platform"], {"captures": 0, POST: [0, 0, 0], ACCOUNT: [0, 0, 0], "session": 0,
                                                 "slowest_ms": 0.0})
        total["captures"] += 1
        for kind in (POST, ACCOUNT):
            total[kind] = [a + b for a, b in zip(total[kind], row[kind], strict=True)]
        total["session"] += row["session"]
        total["slowest_ms"] = max(total["slowest_ms"], row["best_ms"])
    return out


def _cell(images: int, with_account: int, by_id: int) -> str:
    if not images:
        return "—"
    return f"{with_account} / {images}" + (f" ({by_id} by id alone)" if by_id else "")


def platforms_table(rows: list[dict]) -> list[str]:
    lines = ["| platform | captures | post images with an account | account pictures with an account | "
             "all images | by handle, alone → in one session | slowest capture |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for network, total in platforms(rows).items():
        images = total[POST][0] + total[ACCOUNT][0]
        with_account = total[POST][1] + total[ACCOUNT][1]
        share = f"{100 * with_account / images:.1f} %" if images else "—"
        by_handle = with_account - total[POST][2] - total[ACCOUNT][2]
        session = f"{100 * by_handle / images:.1f} % → {100 * total['session'] / images:.1f} %" if images else "—"
        lines.append(f"| {network} | {total['captures']} | {_cell(*total[POST])} | {_cell(*total[ACCOUNT])} | "
                     f"{share} | {session} | {total['slowest_ms']:.0f} ms |")
    return lines


def captures_table(rows: list[dict]) -> list[str]:
    lines = ["| capture | body | post images with an account | account pictures with an account | best | median |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['platform']}/{row['capture']} | {row['bytes'] / 2**10:.0f} KB | {_cell(*row[POST])} | "
                     f"{_cell(*row[ACCOUNT])} | {row['best_ms']:.0f} ms | {row['median_ms']:.0f} ms |")
    return lines


def update_docs(doc: Path, table: list[str], when: str) -> None:
    """Put the platforms' table between the markers of docs/parents.md ("Who posted it")."""
    text = doc.read_text()
    start, end = text.index(DOCS_TABLE[0]), text.index(DOCS_TABLE[1])
    block = [DOCS_TABLE[0], *table, "",
             f"(`python -m benchmarks.feeds`, {when}: [`benchmarks/results/feeds.md`](../benchmarks/results/feeds.md))"]
    doc.write_text(text[:start] + "\n".join(block) + "\n" + text[end:])


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=Path, default=CAPTURES)
    parser.add_argument("--megabytes", type=float, default=MAX_FEED_BYTES / 2**20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "feeds.md")
    parser.add_argument("--docs", action="store_true", help="put the platforms' table in docs/parents.md")
    args = parser.parse_args()
    if not captures(args.captures):
        parser.error(f"no captures in {args.captures}: give --captures DIR (one folder a platform)")
    read = read_captures(args.captures, args.rounds)
    rows = run(int(args.megabytes * 2**20), args.rounds)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    lines = [
        "# Reading a feed: who posted each image of what the platforms sent, and the time it takes",
        "",
        f"{when}, commit {commit}; {machine()}.",
        f"Command: `python -m benchmarks.feeds --megabytes {args.megabytes:g} --rounds {args.rounds}` "
        f"({len(read)} captures in `{args.captures.name}/`).",
        "(the machine was shared with other work: read the best time as the cost, the median as what it may take).",
        "",
        "## The real captures",
        "",
        "The distinct images of each platform's image servers in the captures (benchmarks/feed_census.py: videos, "
        "sounds, scripts and the sites' own icons left out), and those the readers name an account for, by its "
        "handle or, where the feed gives only that, by its id. \"By handle, alone → in one session\": the share named "
        "by handle when each capture is read alone, and when every capture of the platform is read into one map, as "
        "one browser would, where a handle one response gives names an id another gave alone.",
        "",
        *platforms_table(read),
        "",
        *captures_table(read),
        "",
        "## A 4 MB feed (the most a feed is read)",
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
    if args.docs:
        update_docs(DOCS, platforms_table(read), when)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
