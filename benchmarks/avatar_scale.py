"""Profile pictures at a family's whole album: what the avatar stage finds, and what it costs, with 100, 1,000 and 10,000 photos protected.

    python -m benchmarks.avatar_scale [--sizes 100,1000,10000] [--work DIR] [--strangers 100]

The albums are those `benchmarks.scale` enrols and keeps in `--work` (`album-SIZE`): the 100
real photos of `people/` that `benchmarks.matcher` protects, then photos made of `scenes/`.
`benchmarks.scale` itself checks 20 copies as profile pictures; here every profile picture of
the matcher benchmark's avatar class (benchmarks.transforms.AVATARS, each at its own size and
upscaled: 12 a photo) is made of each of the 100 real photos, and the same 6 of `--strangers`
people photos not protected (which no album photo is made of), each as it is and mirrored.
Each image is fingerprinted once; at each size, `Matcher.match` alone (the index as a checking
process maps it, its pages in memory after a first pass) gives: copies found (the right photo),
strangers alerting, and the CPU time a profile picture, mean and 95th percentile.

Writes benchmarks/results/avatar-scale.md (or `--out`). Run it under both locks:
`flock /tmp/sentinelle-heavy.lock flock /tmp/sentinelle-bench.lock python -m benchmarks.avatar_scale`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import faiss
import numpy as np
from PIL import ImageOps

from benchmarks.matcher import DEFAULT_CORPUS
from benchmarks.scale import _photo_ids, album, loaded_matcher
from benchmarks.scene import machine
from benchmarks.transforms import AVATARS, at_both_sizes

RESULTS = Path(__file__).parent / "results" / "avatar-scale.md"
SIZES = (100, 1000, 10000)
STRANGERS = 100


def images(corpus: Path, seed: int, strangers: int) -> tuple[list[tuple[str, object, str]], list[tuple[str, object]]]:
    """The copies (transform, fingerprint, the protected photo's name) and the strangers'
    profile pictures (transform, fingerprint), each fingerprinted once."""
    from sentinelle.proxy.engine.fingerprint import fingerprint
    from sentinelle.proxy.engine.images import ImageError, open_image

    def seen(data: bytes) -> object:
        try:
            fp = fingerprint(data)
        except ImageError:  # smaller than any stage looks at: a copy missed, a stranger let by
            return None
        if fp.avatar is not None:
            # Taken when first asked for and kept: taken here, or the first album size would be
            # charged with them and the others not (fingerprinting is not what is timed).
            fp.avatar(False)
            fp.avatar(True)
        return fp

    the_album = album(corpus, seed)
    copies = []
    for path in the_album.protected:
        img = open_image(path.read_bytes(), min_side=1)
        for transform in at_both_sizes(AVATARS):
            copies.append((f"{transform.name}, {transform.size}", seen(transform.apply(img)), path.name))
    others = []
    for path in the_album.strangers[:strangers]:
        img = open_image(path.read_bytes(), min_side=1)
        for picture, how in ((img, ""), (ImageOps.mirror(img), " mirrored")):
            for transform in AVATARS:
                others.append((f"{transform.name}{how}", seen(transform.apply(picture))))
    return copies, others


def measure(data_dir: Path, copies: list, others: list) -> dict:
    """Found, alerts and CPU ms of `Matcher.match` at the album in `data_dir`, its pages read once first."""
    matcher = loaded_matcher(data_dir)
    names = _photo_ids(data_dir)
    for _, fp, _ in copies[:: max(1, len(copies) // 20)]:
        if fp is not None:
            matcher.match(fp)  # a first pass reads the index's pages
    times, found, by_size = [], 0, {"own size": [0, 0], "upscaled": [0, 0]}
    for label, fp, truth in copies:
        start = time.process_time()
        answer = matcher.match(fp) if fp is not None else None
        if fp is not None:
            times.append(time.process_time() - start)
        right = answer is not None and names.get(answer.photo_id) == truth
        found += right
        by_size["own size" if label.endswith("own size") else "upscaled"][0] += right
        by_size["own size" if label.endswith("own size") else "upscaled"][1] += 1
    stranger_times, alerts = [], 0
    stats = faiss.cvar.indexIVF_stats  # what the strangers' pictures scan of the inverted lists
    stats.reset()
    for _, fp in others:
        start = time.process_time()
        answer = matcher.match(fp) if fp is not None else None
        if fp is not None:
            stranger_times.append(time.process_time() - start)
        alerts += answer is not None
    return {"found": found, "copies": len(copies), "by_size": by_size, "copy_ms": times,
            "alerts": alerts, "strangers": len(others), "stranger_ms": stranger_times,
            "codes": stats.ndis / max(len(stranger_times), 1)}


def _ms(values: list[float]) -> str:
    return f"{1000 * np.mean(values):.1f} / {1000 * np.percentile(values, 95):.1f}"


def report(results: dict[int, dict], command: str, seconds: float) -> str:
    lines = [
        "# Profile pictures at a family's whole album (the avatar stage)",
        "",
        f"- date: {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())}",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        "- albums: those `benchmarks.scale` enrols (the 100 real protected photos, then photos made of `scenes/`);"
        " copies: every avatar transform of the matcher benchmark, at its own size and upscaled, of each of the 100 real photos;"
        " strangers: the same 6 profile pictures of people photos not protected, each as it is and mirrored",
        "- time: CPU of `Matcher.match` alone (fingerprints made once), the index mapped as a checking process maps it,"
        " its pages in memory; mean / 95th percentile",
        "- codes scanned: enrolled descriptors a stranger's picture is compared with, its descriptors and its mirror's, every part of the index (faiss `indexIVF_stats`), mean",
        "",
        "| enrolled photos | copies found | own size | upscaled | ms a copy | strangers alerting | ms a stranger's picture | codes scanned |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, r in results.items():
        own, up = r["by_size"]["own size"], r["by_size"]["upscaled"]
        lines.append(
            f"| {size:,} | {r['found']} / {r['copies']} ({100 * r['found'] / r['copies']:.1f} %) | {100 * own[0] / own[1]:.1f} % "
            f"| {100 * up[0] / up[1]:.1f} % | {_ms(r['copy_ms'])} | {r['alerts']} / {r['strangers']} | {_ms(r['stranger_ms'])} | {r['codes']:,.0f} |"
        )
    lines += ["", f"Whole run: {seconds:.0f} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--work", type=Path, default=Path("/tmp/engine4/work"), help="where benchmarks.scale keeps its albums")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seed", type=int, default=1, help="as benchmarks.scale chose the protected photos")
    parser.add_argument("--strangers", type=int, default=STRANGERS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sizes = [int(size) for size in args.sizes.split(",")]
    missing = [size for size in sizes if not (args.work / f"album-{size}").is_dir()]
    if missing:
        raise SystemExit(f"no album of {missing} in {args.work}: `python -m benchmarks.scale --work {args.work}` enrols them")
    copies, others = images(args.corpus, args.seed, args.strangers)
    print(f"{len(copies)} copies, {len(others)} strangers' pictures fingerprinted in {time.perf_counter() - started:.0f} s", flush=True)
    results = {}
    for size in sizes:
        results[size] = measure(args.work / f"album-{size}", copies, others)
        r = results[size]
        print(f"{size}: found {r['found']}/{r['copies']}, alerts {r['alerts']}/{r['strangers']}, "
              f"ms {_ms(r['copy_ms'])} / {_ms(r['stranger_ms'])}", flush=True)
    command = "python -m benchmarks.avatar_scale " + shlex.join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(report(results, command.strip(), time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
