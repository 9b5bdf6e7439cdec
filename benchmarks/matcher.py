"""Measures how well the matcher finds copies of protected photos, and how rarely it mistakes a stranger's photo for one.

    python -m benchmarks.matcher --corpus ../shared/datasets/dev [--protected 100] [--seed 1]

Picks `--protected` photos of `CORPUS/people` (seeded) and enrols them as
`proxy.fingerprint.enrollment_views` does; makes every copy in
`benchmarks.transforms.TRANSFORMS` of each; and uses every other photo of the corpus
(people and scenes) as a distractor, a fifth of them also dressed like re-posts (every
transform, plus a caption bar): hard distractors. Prints a markdown report and writes it
to benchmarks/results/matcher.md. The imagehash 64-bit phash (whole photo enrolled,
threshold 10, full decode) runs beside it as the baseline. One process, one core.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from benchmarks.transforms import CAPTION, FAMILIES, TRANSFORMS
from proxy.fingerprint import PHASH_BITS, enrollment_views, fingerprint
from proxy.images import open_image
from proxy.matcher import MATCH_THRESHOLD, Matcher

RESULTS = Path(__file__).parent / "results" / "matcher.md"
BASELINE_THRESHOLD = 10  # imagehash's 64-bit phash: the usual "near-duplicate" cut
BASELINE_BITS = 64
_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.uint16)


@dataclass
class Copy:
    """One transformed copy of a protected photo, as each matcher saw it."""

    family: str
    name: str
    found: bool  # the matcher named the right photo, at its threshold
    true_distance: int  # bits to the closest view of the right photo
    seconds: float  # fast path: fingerprint() + Matcher.match()
    base_found: bool
    base_seconds: float  # baseline: full decode + 64-bit phash + search
    is_1080_jpeg: bool


@dataclass
class Distractor:
    kind: str  # "plain" or "hard"
    family: str  # the dressing of a hard distractor; "" for plain
    distance: int  # bits to the closest enrolled view of any protected photo
    base_distance: int


@dataclass
class Run:
    copies: list[Copy] = field(default_factory=list)
    distractors: list[Distractor] = field(default_factory=list)
    enrol_seconds: list[float] = field(default_factory=list)
    # How often each distance occurs between a distractor and an enrolled view (all pairs).
    pair_histogram: np.ndarray = field(default_factory=lambda: np.zeros(PHASH_BITS + 1, dtype=np.int64))


class Baseline:
    """imagehash 64-bit phash of the whole photo, full decode, the usual threshold of 10."""

    def __init__(self, photos: list[tuple[int, Image.Image]]) -> None:
        self.photo_ids = np.array([photo_id for photo_id, _ in photos])
        self.hashes = np.stack([_phash64(img) for _, img in photos])

    def closest(self, data: bytes) -> tuple[int, int]:
        """(photo id, distance) of the closest protected photo."""
        query = _phash64(Image.open(io.BytesIO(data)).convert("RGB"))
        distances = _POPCOUNT[self.hashes ^ query].sum(axis=1)
        best = int(np.argmin(distances))
        return int(self.photo_ids[best]), int(distances[best])


def _phash64(img: Image.Image) -> np.ndarray:
    return np.packbits(imagehash.phash(img).hash.reshape(-1))


def run(corpus: Path, protected_count: int, seed: int, log=print) -> tuple[Run, dict[str, int]]:
    people = sorted((corpus / "people").glob("*.jpg"))
    scenes = sorted((corpus / "scenes").glob("*.jpg"))
    rng = random.Random(seed)
    protected = rng.sample(people, protected_count)
    chosen = set(protected)
    distractors = [path for path in people if path not in chosen] + scenes
    hard = set(rng.sample(distractors, len(distractors) // 5))
    sizes = {"protected": len(protected), "distractors": len(distractors), "hard": len(hard)}

    result = Run()
    entries = []
    originals: list[tuple[int, Image.Image]] = []
    for photo_id, path in enumerate(protected):
        data = path.read_bytes()
        start = time.perf_counter()
        views = enrollment_views(data)
        result.enrol_seconds.append(time.perf_counter() - start)
        entries += [(photo_id, view, fp) for view, fp in views]
        originals.append((photo_id, open_image(data, min_side=1)))
    # Threshold at the maximum: every query returns its closest photo, judged below.
    closest = Matcher(entries, threshold=PHASH_BITS)
    at_threshold = Matcher(entries, threshold=MATCH_THRESHOLD)
    baseline = Baseline(originals)
    photo_of_row = np.array([photo_id for photo_id, _, _ in entries])
    log(f"enrolled {len(closest)} photos as {len(entries)} views")

    for photo_id, img in originals:
        for transform in TRANSFORMS + (CAPTION,):
            data = transform.apply(img)
            start = time.perf_counter()
            fp = fingerprint(data)
            match = at_threshold.match(fp)
            seconds = time.perf_counter() - start
            distances = closest.distances(fp)
            start = time.perf_counter()
            base_id, base_distance = baseline.closest(data)
            base_seconds = time.perf_counter() - start
            result.copies.append(
                Copy(
                    family=transform.family,
                    name=transform.name,
                    found=match is not None and match.photo_id == photo_id,
                    true_distance=int(distances[photo_of_row == photo_id].min()),
                    seconds=seconds,
                    base_found=base_id == photo_id and base_distance <= BASELINE_THRESHOLD,
                    base_seconds=base_seconds,
                    is_1080_jpeg=_is_1080_jpeg(data),
                )
            )
        if (photo_id + 1) % 20 == 0:
            log(f"copies of {photo_id + 1}/{len(originals)} protected photos")

    for number, path in enumerate(distractors, 1):
        data = path.read_bytes()
        _add_distractor(result, closest, baseline, "plain", "", data)
        if path in hard:
            img = open_image(data, min_side=1)
            for transform in TRANSFORMS + (CAPTION,):
                _add_distractor(result, closest, baseline, "hard", transform.family, transform.apply(img))
        if number % 100 == 0:
            log(f"distractors {number}/{len(distractors)}")
    return result, sizes


def _add_distractor(result: Run, closest: Matcher, baseline: Baseline, kind: str, family: str, data: bytes) -> None:
    distances = closest.distances(fingerprint(data))
    result.pair_histogram += np.bincount(distances, minlength=PHASH_BITS + 1)
    _, base_distance = baseline.closest(data)
    result.distractors.append(Distractor(kind, family, int(distances.min()), base_distance))


def _is_1080_jpeg(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        return img.format == "JPEG" and img.width == 1080


# --- the report ----------------------------------------------------------------------


def report(result: Run, sizes: dict[str, int], command: str) -> str:
    threshold = MATCH_THRESHOLD
    plain = [d for d in result.distractors if d.kind == "plain"]
    hard = [d for d in result.distractors if d.kind == "hard"]
    lines = [
        "# Matcher benchmark",
        "",
        f"- date: {_command_output(['date', '-u'])}",
        f"- machine: {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores (one used)",
        f"- command: `{command}`",
        f"- corpus: {sizes['protected']} protected photos from `people/`, each made into "
        f"{len(TRANSFORMS)} copies in scope and 1 with a caption bar; {sizes['distractors']} distractors "
        f"(the other people + all scenes), of which {sizes['hard']} were also dressed as re-posts, "
        f"each through the same {len(TRANSFORMS) + 1} edits: {len(hard)} hard distractors",
        f"- Sentinelle: 256-bit DCT phash, enrolled as 10 views (original, mirror, crops 1:1, 4:5, "
        f"1.91:1, 9:16 and their mirrors), MATCH_THRESHOLD = {threshold} bits; seen images decoded "
        f"with JPEG draft mode",
        f"- baseline: imagehash 64-bit phash of the whole photo, threshold {BASELINE_THRESHOLD}, full decode",
        "- copies are served as the platforms do, 1080 px wide JPEG unless the transform says otherwise: "
        "the corpus photos are about 500 px wide, so most are **upscaled** to 1080",
        "",
        "## Recall and false alerts, per transform",
        "",
        "| transform | copies | recall (256-bit, views) | recall (baseline) | farthest copy, bits | "
        "hard distractors | false alerts (256-bit) | false alerts (baseline) | ms/image fast path | ms/image baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for family in FAMILIES + (CAPTION.family,):
        copies = [c for c in result.copies if c.family == family]
        dressed = [d for d in hard if d.family == family]
        label = family if family in FAMILIES else f"{family} (not in scope yet)"
        lines.append(
            f"| {label} | {len(copies)} | {_percent(sum(c.found for c in copies), len(copies))} | "
            f"{_percent(sum(c.base_found for c in copies), len(copies))} | "
            f"{max(c.true_distance for c in copies)} | {len(dressed)} | "
            f"{sum(d.distance <= threshold for d in dressed)} | "
            f"{sum(d.base_distance <= BASELINE_THRESHOLD for d in dressed)} | "
            f"{_ms(c.seconds for c in copies)} | {_ms(c.base_seconds for c in copies)} |"
        )
    lines += [
        f"| **plain distractors** (as they are) | | | | | {len(plain)} | "
        f"{sum(d.distance <= threshold for d in plain)} | "
        f"{sum(d.base_distance <= BASELINE_THRESHOLD for d in plain)} | | |",
        f"| **all hard distractors** | | | | | {len(hard)} | "
        f"{sum(d.distance <= threshold for d in hard)} | "
        f"{sum(d.base_distance <= BASELINE_THRESHOLD for d in hard)} | | |",
        "",
        "Per draw of each transform's parameters (256-bit recall, farthest copy in bits):",
        "",
        "| transform | draw | recall | farthest copy |",
        "| --- | --- | ---: | ---: |",
    ]
    for transform in TRANSFORMS + (CAPTION,):
        copies = [c for c in result.copies if c.name == transform.name]
        lines.append(
            f"| {transform.family} | {transform.name} | {_percent(sum(c.found for c in copies), len(copies))} | "
            f"{max(c.true_distance for c in copies)} |"
        )
    lines += ["", *_distance_section(result, plain, hard), "", *_speed_section(result)]
    return "\n".join(lines) + "\n"


def _distance_section(result: Run, plain: list[Distractor], hard: list[Distractor]) -> list[str]:
    in_scope = [c.true_distance for c in result.copies if c.family in FAMILIES]
    closest_plain = min(d.distance for d in plain)
    closest_hard = min(d.distance for d in hard)
    histogram = result.pair_histogram
    pairs = int(histogram.sum())
    cumulative = np.cumsum(histogram)
    lines = [
        "## Where the threshold sits",
        "",
        f"- copies (transforms in scope): distance to their own photo's closest view: "
        f"median {int(np.median(in_scope))}, 99th percentile {int(np.percentile(in_scope, 99))}, "
        f"max {max(in_scope)} bits",
        f"- distractors: distance to the closest enrolled view: closest plain {closest_plain}, "
        f"closest hard {closest_hard}; 1st percentile "
        f"{int(np.percentile([d.distance for d in result.distractors], 1))}, median "
        f"{int(np.median([d.distance for d in result.distractors]))} bits",
        f"- all {pairs:,} (distractor, enrolled view) pairs: mean {np.average(np.arange(PHASH_BITS + 1), weights=histogram):.1f}, "
        f"sd {_sd(histogram):.1f} bits; pairs at or below:",
        "",
        "| bits | pairs | share | normal fit |",
        "| ---: | ---: | ---: | ---: |",
    ]
    mean, sd = np.average(np.arange(PHASH_BITS + 1), weights=histogram), _sd(histogram)
    for bits in sorted({MATCH_THRESHOLD, 32, 48, 64, 80, closest_hard, closest_plain}):
        fit = 0.5 * math.erfc((mean - bits) / (sd * math.sqrt(2)))
        lines.append(f"| {bits} | {int(cumulative[bits]):,} | {cumulative[bits] / pairs:.1e} | {fit:.0e} |")
    return lines


def _speed_section(result: Run) -> list[str]:
    jpeg_1080 = [c for c in result.copies if c.is_1080_jpeg]
    return [
        "## Speed (one core, wall clock, median / 90th percentile)",
        "",
        f"- fast path on the {len(jpeg_1080)} copies that are 1080-px-wide JPEGs "
        f"(fingerprint() with JPEG draft decode + Matcher.match): "
        f"{_ms(c.seconds for c in jpeg_1080)} / {_ms((c.seconds for c in jpeg_1080), 90)} ms",
        f"- baseline on the same copies (full decode + 64-bit phash + search): "
        f"{_ms(c.base_seconds for c in jpeg_1080)} / {_ms((c.base_seconds for c in jpeg_1080), 90)} ms",
        f"- enrollment_views() per protected photo (decode + 10 views): "
        f"{_ms(result.enrol_seconds)} / {_ms(result.enrol_seconds, 90)} ms",
    ]


def _percent(hits: int, total: int) -> str:
    return f"{100 * hits / total:.1f} %" if total else "–"


def _ms(seconds, percentile: float = 50) -> str:
    values = list(seconds)
    return f"{1000 * np.percentile(values, percentile):.1f}" if values else "–"


def _sd(histogram: np.ndarray) -> float:
    bits = np.arange(histogram.size)
    mean = np.average(bits, weights=histogram)
    return float(np.sqrt(np.average((bits - mean) ** 2, weights=histogram)))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _command_output(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matcher", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder with people/ and scenes/")
    parser.add_argument("--protected", type=int, default=100, help="how many photos of people/ to protect")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the markdown report")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.matcher", *(sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    result, sizes = run(args.corpus, args.protected, args.seed, log=lambda msg: print(msg, file=sys.stderr))
    text = report(result, sizes, command)
    text += f"\nWhole run: {time.perf_counter() - started:.0f} s.\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
