"""Measures how well the matcher finds copies of protected photos, how rarely it mistakes a stranger's photo for one, and what it costs — beside three baselines, in the same run.

    python -m benchmarks.matcher [--corpus ../shared/datasets/dev] [--protected 100] [--seed 1]

Picks `--protected` photos of `CORPUS/people` (seeded) and enrols them as `sentinelle`
does; makes every copy in `benchmarks.transforms.CATALOGUE` of each (three classes:
platform, edits, screenshots), twice: at the photo's own size (never served larger than
the picture it is made of, as platforms do) and upscaled (served 1080 px wide); and uses
every other photo of the corpus (people and scenes) as a distractor, a fifth of them also
dressed like re-posts through every transform of the catalogue at both sizes (captioned,
stickered, in a story, screenshotted...): hard distractors. Then the same-place row: each
photo of each `CORPUS/same-place/` folder (different photographs of one place) enrolled
alone, the others of its folder checked, and again beside the protected photos, and (by
Sentinelle alone) the others made into the avatar class's profile pictures at both sizes; any
answer is a false alert. Each image goes through four matchers, each at its default
settings (the baselines on one image in BASELINE_EVERY of the copies and distractors, to
keep ORB's time within the run; on every pair of the same-place row):

- **Sentinelle**: `proxy.engine.fingerprint.fingerprint` + `proxy.engine.matcher.Matcher.match`, as
  the proxy and `sentinelle check` run them;
- **phash**: imagehash's 64-bit phash of the whole photo, threshold 10, full decode;
- **PDQ**: `pdqhash` of the whole photo, threshold 31, full decode;
- **ORB + RANSAC**: 600 ORB keypoints at 480 px, the protected photo and its mirror in
  one FLANN-LSH index, votes, RANSAC homography on the two best candidates, ≥ 25 inliers.

Then the speed figures: Sentinelle's first (global) pass alone on the 1080-px JPEG
copies; the whole path on 1080-px JPEGs of distractors that match nothing, with the
protected set as it is and grown to `--scale` photos (synthetic: scenes of the corpus,
each through several transforms, enrolled as photos of their own; the timed images are
people photos, which match none of them). Prints a markdown report and writes it to
benchmarks/results/matcher.md. One process, one core.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageOps

from benchmarks.transforms import (
    AVATARS,
    CATALOGUE,
    CLASSES,
    EXTRA_CLASSES,
    Transform,
    at_both_sizes,
    served,
    strangers,
)
from sentinelle.proxy.engine import avatar
from sentinelle.proxy.engine.fingerprint import (
    enrollment_views,
    fingerprint,
    global_fingerprint,
)
from sentinelle.proxy.engine.images import ImageError, open_image
from sentinelle.proxy.engine.matcher import (
    LOCAL_RULES,
    MATCH_THRESHOLD,
    UNVERIFIED_THRESHOLD,
    Matcher,
)

cv2.setNumThreads(1)

RESULTS = Path(__file__).parent / "results" / "matcher.md"
SPEED_RESULTS = Path(__file__).parent / "results" / "matcher-speed.md"
DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "dev"
METHODS = ("Sentinelle", "phash", "PDQ", "ORB + RANSAC")
PHASH_THRESHOLD = 10  # imagehash's 64-bit phash: the usual "near-duplicate" cut
PDQ_THRESHOLD = 31  # the PDQ authors' recommended match distance
ORB_FEATURES = 600
ORB_SIDE = 480
ORB_MIN_INLIERS = 25
SIZES = ("own size", "upscaled")
# The baselines (ORB + RANSAC alone takes 200 ms an image) see one image in BASELINE_EVERY
# of the copies and distractors (every such protected photo's copies, every such
# distractor, dressed or not), picked by position; Sentinelle sees them all. The
# same-place row is run whole by all four.
BASELINE_EVERY = 6
SAME_PLACE = "same-place"
# The strangers' photos collages are made with (the first distractors, decoded once).
COLLAGE_STRANGERS = 40
# Public pairs of one place kept in the repository (a wall, house fronts: see its SOURCES file).
ADDED_PLACES = Path(__file__).parent / "data" / SAME_PLACE
_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.uint16)


# --- the matchers --------------------------------------------------------------------


class Sentinelle:
    name = "Sentinelle"

    def __init__(self) -> None:
        self.entries: list = []
        self.matcher: Matcher | None = None
        self.last_stage = ""

    def enrol(self, photo_id: int, data: bytes) -> None:
        self.entries += [(photo_id, view, fp) for view, fp in enrollment_views(data)]

    def finish(self) -> None:
        self.matcher = Matcher(self.entries)
        self.global_only = Matcher(self.entries, local=False)

    def query(self, data: bytes) -> int | None:
        try:
            fp = fingerprint(data)
        except ImageError:  # smaller than any image Sentinelle looks at (a 30 % crop of a 183-px photo): skipped, as the proxy does
            self.last_stage = ""
            return None
        found = self.matcher.match(fp)
        self.last_stage = found.stage if found else ""
        return found.photo_id if found else None

    def query_global(self, data: bytes) -> int | None:
        try:
            fp = global_fingerprint(data)
        except ImageError:
            return None
        found = self.global_only.match_global(fp)
        return found.photo_id if found else None


class PHash:
    name = "phash"

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.hashes: list[np.ndarray] = []

    @staticmethod
    def _hash(data: bytes) -> np.ndarray:
        return np.packbits(imagehash.phash(Image.open(io.BytesIO(data)).convert("RGB")).hash.reshape(-1))

    def enrol(self, photo_id: int, data: bytes) -> None:
        self.ids.append(photo_id)
        self.hashes.append(self._hash(data))

    def finish(self) -> None:
        self.matrix = np.stack(self.hashes)

    def query(self, data: bytes) -> int | None:
        distances = _POPCOUNT[self.matrix ^ self._hash(data)].sum(axis=1)
        best = int(np.argmin(distances))
        return self.ids[best] if distances[best] <= PHASH_THRESHOLD else None


class PDQ(PHash):
    name = "PDQ"

    @staticmethod
    def _hash(data: bytes) -> np.ndarray:
        bits, _quality = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        return np.packbits(bits.astype(np.uint8))

    def query(self, data: bytes) -> int | None:
        distances = _POPCOUNT[self.matrix ^ self._hash(data)].sum(axis=1)
        best = int(np.argmin(distances))
        return self.ids[best] if distances[best] <= PDQ_THRESHOLD else None


class OrbRansac:
    """OpenCV's textbook pipeline (ORB, FLANN-LSH votes, a RANSAC homography): the baseline the design started from."""

    name = "ORB + RANSAC"

    def __init__(self) -> None:
        self.orb = cv2.ORB_create(nfeatures=ORB_FEATURES)
        self.views: list[tuple[int, np.ndarray, np.ndarray]] = []  # photo id, points, descriptors

    def _features(self, img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        gray = np.asarray(img.convert("L"))
        scale = ORB_SIDE / max(gray.shape)
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        keypoints, descriptors = self.orb.detectAndCompute(gray, None)
        return np.array([kp.pt for kp in keypoints], np.float32).reshape(-1, 2), descriptors

    def enrol(self, photo_id: int, data: bytes) -> None:
        img = Image.open(io.BytesIO(data)).convert("RGB")
        for view in (img, ImageOps.mirror(img)):
            points, descriptors = self._features(view)
            if descriptors is not None:
                self.views.append((photo_id, points, descriptors))

    def finish(self) -> None:
        self.owner = np.concatenate([np.full(len(d), i) for i, (_, _, d) in enumerate(self.views)])
        self.flann = cv2.FlannBasedMatcher({"algorithm": 6, "table_number": 6, "key_size": 12, "multi_probe_level": 1}, {"checks": 50})
        self.flann.add([d for _, _, d in self.views])
        self.flann.train()
        self.offsets = np.cumsum([0] + [len(d) for _, _, d in self.views])

    def query(self, data: bytes) -> int | None:
        points, descriptors = self._features(Image.open(io.BytesIO(data)).convert("RGB"))
        if descriptors is None or len(descriptors) < 2:
            return None
        pairs = self.flann.knnMatch(descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
        votes = np.bincount([m.imgIdx for m in good], minlength=len(self.views))
        for view in np.argsort(-votes)[:2]:
            matches = [m for m in good if m.imgIdx == view]
            if len(matches) < ORB_MIN_INLIERS:
                continue
            src = points[[m.queryIdx for m in matches]]
            dst = self.views[view][1][[m.trainIdx for m in matches]]
            _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
            if mask is not None and int(mask.sum()) >= ORB_MIN_INLIERS:
                return self.views[view][0]
        return None


# --- the run -------------------------------------------------------------------------


@dataclass
class Seen:
    """One image as the four matchers saw it."""

    kind: str  # "copy", "plain" or "hard"
    cls: str  # the transform's class ("" for a plain distractor)
    family: str
    name: str
    found: dict[str, bool]  # copies: the right photo named; distractors: any photo named (an alert)
    seconds: dict[str, float]
    stage: str = ""  # Sentinelle's stage that answered
    size: str = "upscaled"  # copies: "own size" or "upscaled" (benchmarks.transforms.at_own_size)
    is_1080_jpeg: bool = False
    global_seconds: float = 0.0
    global_found: bool = False


@dataclass
class Run:
    seen: list[Seen] = field(default_factory=list)
    enrol_seconds: list[float] = field(default_factory=list)
    speed: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    transforms: tuple[Transform, ...] = CATALOGUE
    # Same place, different photograph: (folder, alone or beside the protected set) -> method -> (alerts, pairs)
    places: dict[tuple[str, str], dict[str, list[int]]] = field(default_factory=dict)


def _timed(fn: Callable[[bytes], int | None], data: bytes) -> tuple[int | None, float]:
    start = _cpu()
    result = fn(data)
    return result, _cpu() - start


def _cpu() -> float:
    """CPU seconds of this process: what an image costs one core, whatever else the machine is doing."""
    return time.process_time()


def draw(corpus: Path, protected_count: int, seed: int, distractor_count: int | None = None) -> tuple[list[Path], list[Path], list[Path]]:
    """The protected photos (from people/), the distractors (the other people and every scene,
    or `distractor_count` of them) and the fifth of those dressed as hard distractors."""
    people = sorted((corpus / "people").glob("*.jpg"))
    scenes = sorted((corpus / "scenes").glob("*.jpg"))
    rng = random.Random(seed)
    protected = rng.sample(people, protected_count)
    chosen = set(protected)
    distractors = [path for path in people if path not in chosen] + scenes
    if distractor_count is not None:
        distractors = rng.sample(distractors, distractor_count)
    return protected, distractors, rng.sample(distractors, len(distractors) // 5)


def run(corpus: Path, protected_count: int, seed: int, scale: int, methods: tuple[str, ...], distractor_count: int | None = None, log=print, classes: tuple[str, ...] = tuple(CLASSES)) -> Run:
    people = sorted((corpus / "people").glob("*.jpg"))
    scenes = sorted((corpus / "scenes").glob("*.jpg"))
    protected, distractors, hard_list = draw(corpus, protected_count, seed, distractor_count)
    hard = set(hard_list)
    transforms = tuple(t for t in CATALOGUE + sum(EXTRA_CLASSES.values(), ()) if t.cls in classes)
    result = Run(sizes={"protected": len(protected), "distractors": len(distractors), "hard": len(hard)}, transforms=transforms)

    sentinelle = Sentinelle()
    matchers = [m for m in (sentinelle, PHash(), PDQ(), OrbRansac()) if m.name in methods]
    for photo_id, path in enumerate(protected):
        data = path.read_bytes()
        for matcher in matchers:
            if matcher is sentinelle:
                start = _cpu()
                matcher.enrol(photo_id, data)
                result.enrol_seconds.append(_cpu() - start)
            else:
                matcher.enrol(photo_id, data)
    for matcher in matchers:
        matcher.finish()
    log(f"enrolled {len(protected)} photos")

    def look(kind: str, transform: Transform | None, data: bytes, truth: int | None, baselines: bool) -> None:
        found, seconds = {}, {}
        for matcher in matchers:
            if matcher is not sentinelle and not baselines:
                continue
            answer, seconds[matcher.name] = _timed(matcher.query, data)
            found[matcher.name] = answer == truth if truth is not None else answer is not None
        seen = Seen(
            kind, transform.cls if transform else "", transform.family if transform else "plain",
            transform.name if transform else "as it is", found, seconds, sentinelle.last_stage,
            transform.size if transform else "", _is_1080_jpeg(data),
        )
        answer, seen.global_seconds = _timed(sentinelle.query_global, data)
        seen.global_found = answer == truth if truth is not None else answer is not None
        result.seen.append(seen)

    both_sizes = at_both_sizes(transforms)
    # A collage's other photos (the inside class) are strangers': distractors, never a protected photo.
    with strangers([open_image(path.read_bytes(), min_side=1) for path in distractors[:COLLAGE_STRANGERS]]):
        for photo_id, path in enumerate(protected):
            img = open_image(path.read_bytes(), min_side=1)
            for transform in both_sizes:
                look("copy", transform, transform.apply(img), photo_id, photo_id % BASELINE_EVERY == 0)
            if (photo_id + 1) % 10 == 0:
                log(f"copies of {photo_id + 1}/{len(protected)} protected photos")
        for number, path in enumerate(distractors, 1):
            data = path.read_bytes()
            look("plain", None, data, None, number % BASELINE_EVERY == 0)
            if path in hard:
                img = open_image(data, min_side=1)
                for transform in both_sizes:
                    look("hard", transform, transform.apply(img), None, number % BASELINE_EVERY == 0)
            if number % 50 == 0:
                log(f"distractors {number}/{len(distractors)}")

    result.places = same_place(corpus, protected, methods, log)

    result.speed = speed(sentinelle, protected, people, scenes, scale, log)
    return result


def same_place(corpus: Path, protected: list[Path], methods: tuple[str, ...], log=print) -> dict[tuple[str, str], dict[str, list[int]]]:
    """Different photographs of one place: each photo of each `same-place` folder (the corpus's, and
    the repository's own, ADDED_PLACES) enrolled alone, the others of its folder checked; then
    again with the protected photos enrolled beside it. Any answer is a false alert. Every method,
    every pair. Then, by Sentinelle alone, each enrolled alone and the others made into profile
    pictures (AVATARS, at both sizes)."""
    folders = [path for root in (corpus / SAME_PLACE, ADDED_PLACES) if root.is_dir()
               for path in sorted(root.iterdir()) if path.is_dir()]
    kinds = {"Sentinelle": Sentinelle, "phash": PHash, "PDQ": PDQ, "ORB + RANSAC": OrbRansac}
    protected_data = [path.read_bytes() for path in protected]
    places: dict[tuple[str, str], dict[str, list[int]]] = {}
    for folder in folders:
        photos = [path.read_bytes() for path in sorted(folder.iterdir()) if path.suffix.lower() in (".jpg", ".jpeg", ".png")]
        for setting in ("alone", f"beside {len(protected)} protected"):
            counts = {method: [0, 0] for method in methods}
            for method in methods:
                beside = kinds[method]()
                if setting != "alone":
                    for photo_id, data in enumerate(protected_data):
                        beside.enrol(photo_id, data)
                for index, enrolled in enumerate(photos):
                    matcher = kinds[method]()
                    if setting != "alone":
                        matcher.__dict__.update({k: list(v) if isinstance(v, list) else v for k, v in beside.__dict__.items()})
                    matcher.enrol(-1, enrolled)
                    matcher.finish()
                    for other, data in enumerate(photos):
                        if other != index:
                            counts[method][0] += matcher.query(data) is not None
                            counts[method][1] += 1
            places[(folder.name, setting)] = counts
            log(f"same place {folder.name}, {setting}: " + ", ".join(f"{m} {a}/{n}" for m, (a, n) in counts.items()))
        # The other photographs of the place made into profile pictures (AVATARS: tight square
        # crops, served small), which only Sentinelle's avatar stage looks at: a crop of a
        # wall or a facade from another shot is the hardest same-place case there is.
        setting = f"alone, others as {2 * len(AVATARS)} profile pictures each"
        counts = {"Sentinelle": [0, 0]}
        avatars = at_both_sizes(AVATARS)
        made = [[t.apply(open_image(data, min_side=1)) for t in avatars] for data in photos]
        for index, enrolled in enumerate(photos):
            matcher = Sentinelle()
            matcher.enrol(-1, enrolled)
            matcher.finish()
            for other, copies in enumerate(made):
                if other != index:
                    for data in copies:
                        counts["Sentinelle"][0] += matcher.query(data) is not None
                        counts["Sentinelle"][1] += 1
        places[(folder.name, setting)] = counts
        log(f"same place {folder.name}, {setting}: Sentinelle {counts['Sentinelle'][0]}/{counts['Sentinelle'][1]}")
    return places


def run_speed(corpus: Path, protected_count: int, seed: int, scale: int, log=print) -> Run:
    """The speed figures alone (`--speed-only`): the same protected photos as `run`, no copies, no baselines."""
    people = sorted((corpus / "people").glob("*.jpg"))
    scenes = sorted((corpus / "scenes").glob("*.jpg"))
    protected = random.Random(seed).sample(people, protected_count)
    result = Run(sizes={"protected": len(protected)})
    sentinelle = Sentinelle()
    for photo_id, path in enumerate(protected):
        data = path.read_bytes()
        start = _cpu()
        sentinelle.enrol(photo_id, data)
        result.enrol_seconds.append(_cpu() - start)
    sentinelle.finish()
    result.speed = speed(sentinelle, protected, people, scenes, scale, log)
    return result


def speed_report(result: Run, command: str) -> str:
    return "\n".join([
        "# Matcher benchmark: speed only",
        "",
        f"- date: {_command_output(['date', '-u'])}",
        f"- machine: {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores (one used)",
        f"- command: `{command}`",
        f"- {result.sizes['protected']} protected photos from `people/`, picked as the full run picks them; "
        "recall and the baselines are in matcher.md",
        "",
        *_speed_section(result),
        "",
    ])


def speed(sentinelle: Sentinelle, protected: list[Path], people: list[Path], scenes: list[Path], scale: int, log) -> dict[str, list[float]]:
    """Whole-path time on 1080-px JPEGs that match nothing, with the protected set as enrolled and grown to `scale` photos."""
    chosen = set(protected)
    queries = [served(open_image(p.read_bytes(), min_side=1)) for p in people if p not in chosen]
    times: dict[str, list[float]] = {}
    synthetic = list(sentinelle.entries)
    variants = [t for t in CATALOGUE if t.family in {"resize", "filters", "grayscale", "mirror", "off-centre crop", "rotation", "crop 4:5"}]
    photo_id = 1_000_000
    start = time.perf_counter()
    for path in scenes:
        if len({pid for pid, _, _ in synthetic}) >= scale:
            break
        img = open_image(path.read_bytes(), min_side=1)
        for transform in variants:
            synthetic += [(photo_id, view, fp) for view, fp in enrollment_views(transform.apply(img))]
            photo_id += 1
    log(f"synthetic protected set: {len({pid for pid, _, _ in synthetic})} photos in {time.perf_counter() - start:.0f} s")
    for label, entries in ((f"{len(protected)} protected", sentinelle.entries), (f"{len({pid for pid, _, _ in synthetic})} protected (synthetic)", synthetic)):
        start = time.perf_counter()
        matcher = Matcher(entries)
        times[f"build {label}"] = [time.perf_counter() - start]
        alerts = 0
        seconds = []
        for data in queries:
            start = _cpu()
            found = matcher.match(fingerprint(data))
            seconds.append(_cpu() - start)
            alerts += found is not None
        times[label] = seconds
        times[f"alerts {label}"] = [alerts]
        log(f"speed with {label}: {1000 * np.mean(seconds):.1f} ms mean")
    return times


def _is_1080_jpeg(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        return img.format == "JPEG" and img.width == 1080


# --- the report ----------------------------------------------------------------------


def report(result: Run, command: str, methods: tuple[str, ...]) -> str:
    sizes = result.sizes
    copies = [s for s in result.seen if s.kind == "copy"]
    plain = [s for s in result.seen if s.kind == "plain"]
    hard = [s for s in result.seen if s.kind == "hard"]
    classes = {cls: [t for t in ts if t in result.transforms] for cls, ts in (CLASSES | EXTRA_CLASSES).items()}
    classes = {cls: ts for cls, ts in classes.items() if ts}
    lines = [
        "# Matcher benchmark",
        "",
        f"- date: {_command_output(['date', '-u'])}",
        f"- machine: {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores (one used, shared with other work)",
        f"- command: `{command}`",
        f"- corpus: {sizes['protected']} protected photos from `people/`, each made into {len(result.transforms)} copies at each of two sizes "
        f"({', '.join(f'{len(ts)} {cls}' for cls, ts in classes.items())}); {sizes['distractors']} distractors "
        f"(the other people + all scenes) as they are, and {sizes['hard']} of them also dressed through the same "
        f"{len(result.transforms)} transforms: {len(hard)} hard distractors",
        f"- Sentinelle at its defaults (`sentinelle run` and `sentinelle check`): global hash ≤ {MATCH_THRESHOLD} bits, "
        f"framed photo's hash ≤ {MATCH_THRESHOLD} bits, local features "
        + " or ".join(f"≥ {inliers} inliers with correlation ≥ {alike}" for inliers, alike in LOCAL_RULES),
        f"- baselines: imagehash 64-bit phash ≤ {PHASH_THRESHOLD}; PDQ ≤ {PDQ_THRESHOLD}; ORB {ORB_FEATURES} keypoints at "
        f"{ORB_SIDE} px + FLANN-LSH + RANSAC homography ≥ {ORB_MIN_INLIERS} inliers (photo and mirror enrolled); all full decode",
        "- copies are served as the platforms do, 1080 px wide JPEG unless the transform says otherwise: the corpus photos "
        "are about 500 px wide, so most are **upscaled** to 1080; screenshots are 1080 × 2340 (phone) or 540 × 1170 (half)",
        "- times are CPU time of the one process (`time.process_time`, one core: OpenCV set to one thread), per image, "
        "end to end from the bytes (decode, fingerprint, search); the machine is shared, so wall-clock times run higher",
        "",
        "- copies are made twice: at **own size** (`benchmarks.transforms.at_own_size`: never served larger than the "
        "picture they are made of, as platforms do: a 70 % crop of a 481-px photo is a 337-px image; a screenshot or "
        "story re-uploaded no wider than the photo) and **upscaled** (served 1080 px wide unless the transform says "
        "otherwise, as v1 measured); the hard distractors likewise",
        f"- the baselines (phash, PDQ, ORB) see one in {BASELINE_EVERY} of the protected photos' copies and of the "
        "distractors (picked by position), to keep ORB's 200 ms an image within the run; their columns are over "
        "that subset. Sentinelle sees every image. The same-place row is run whole by every method",
        f"- Sentinelle's hash matches are checked with keypoints like any other candidate; when too few keypoints agree "
        f"to judge, the hash alone decides, within {UNVERIFIED_THRESHOLD} bits",
        "",
        "## Same place, different photograph (every alert is a false one)",
        "",
        "Each photo of each `same-place/` folder enrolled alone, the others of its folder checked; then again with the "
        f"{sizes['protected']} protected photos enrolled beside it; then (Sentinelle alone: the other methods have no "
        "profile-picture stage) each enrolled alone and every other photo of its folder made into the avatar class's "
        f"{len(AVATARS)} profile pictures, at own size and upscaled. Alerts / pairs checked:",
        "",
        "| folder | enrolled | " + " | ".join(methods) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in methods) + " |",
    ]
    for (folder, setting), counts in result.places.items():
        lines.append(f"| {folder} | {setting} | " + " | ".join(f"{counts[m][0]} / {counts[m][1]}" if m in counts else "–" for m in methods) + " |")
    for size in SIZES:
        size_copies = [s for s in copies if s.size == size]
        size_hard = [s for s in hard if s.size == size]
        lines += [
            "",
            f"## Per class, copies at {size}",
            "",
            "| class | copies | " + " | ".join(f"recall {m}" for m in methods) + " | hard distractors | "
            + " | ".join(f"alerts {m}" for m in methods) + " | " + " | ".join(f"ms {m}" for m in methods) + " |",
            "| --- | ---: | " + " | ".join("---:" for _ in methods * 3) + " | ---: |",
        ]
        for cls in classes:
            lines.append(_row(f"**{cls}**", [s for s in size_copies if s.cls == cls], [s for s in size_hard if s.cls == cls], methods))
        lines.append(_row("**all copies**", size_copies, size_hard, methods))
        lines += [
            "",
            f"## Per transform, copies at {size}",
            "",
            "| class | transform | copies | " + " | ".join(f"recall {m}" for m in methods) + " | "
            + " | ".join(f"alerts {m}" for m in methods) + " | " + " | ".join(f"ms {m}" for m in methods) + " |",
            "| --- | --- | ---: | " + " | ".join("---:" for _ in methods * 3) + " |",
        ]
        for cls, transforms in classes.items():
            for family in dict.fromkeys(t.family for t in transforms):
                family_copies = [s for s in size_copies if s.cls == cls and s.family == family]
                family_hard = [s for s in size_hard if s.cls == cls and s.family == family]
                lines.append(_row(f"{cls} | {family}", family_copies, family_hard, methods, hard_count=False))
    lines += [
        "",
        "Distractors raising an alert: " + "; ".join(
            f"{m}: {_count(plain, m)} plain, {_count(hard, m)} hard" for m in methods
        ) + ".",
        "",
        "Per draw of each transform's parameters (Sentinelle's recall, and the stage that found the copies):", "",
        "| class | transform | draw | size | recall | global / frame / local / avatar |", "| --- | --- | --- | --- | ---: | --- |",
    ]
    for transform in result.transforms:
        for size in SIZES:
            draws = [s for s in copies if s.name == transform.name and s.family == transform.family and s.size == size]
            stages = " / ".join(str(sum(s.stage == stage for s in draws)) for stage in ("global", "frame", "local", "avatar"))
            lines.append(f"| {transform.cls} | {transform.family} | {transform.name} | {size} | "
                         f"{_percent(sum(s.found['Sentinelle'] for s in draws), len(draws))} | {stages} |")
    lines += ["", *_speed_section(result)]
    return "\n".join(lines) + "\n"


def _row(label: str, copies: list[Seen], hard: list[Seen], methods: tuple[str, ...], hard_count: bool = True) -> str:
    """Recall, alerts and ms of each method, each over the images it saw (the baselines see a subset)."""
    cells = [label, str(len(copies))]
    for m in methods:
        seen = [s for s in copies if m in s.found]
        cells.append(_percent(sum(s.found[m] for s in seen), len(seen)))
    if hard_count:
        cells.append(str(len(hard)))
    cells += [_count(hard, m) for m in methods]
    cells += [_ms(s.seconds[m] for s in copies + hard if m in s.seconds) for m in methods]
    return "| " + " | ".join(cells) + " |"


def _count(seen: list[Seen], method: str) -> str:
    """Alerts of `method` among the distractors it saw, "n of m" when it saw only some."""
    looked = [s for s in seen if method in s.found]
    alerts = sum(s.found[method] for s in looked)
    return str(alerts) if len(looked) == len(seen) else f"{alerts} of {len(looked)}"


def _speed_section(result: Run) -> list[str]:
    copies_1080 = [s for s in result.seen if s.kind == "copy" and s.is_1080_jpeg]
    easy = [s for s in copies_1080 if s.cls == "platform"]
    lines = ["## Speed (CPU time of one core, mean / median / 90th percentile, ms per image)", ""]
    if copies_1080:
        lines += [
        f"- **global first pass alone** (`global_fingerprint` with JPEG draft decode + whole-image hash search) on the "
        f"{len(copies_1080)} copies that are 1080-px JPEGs: {_stats(s.global_seconds for s in copies_1080)}; "
        f"it settles {_percent(sum(s.global_found for s in easy), len(easy))} of the {len(easy)} platform copies among them",
        f"- whole path (`fingerprint` + `Matcher.match`) on the same copies: {_stats(s.seconds['Sentinelle'] for s in copies_1080)}",
        ]
    for label, seconds in result.speed.items():
        if label.startswith(("build", "alerts")):
            continue
        alerts = result.speed[f"alerts {label}"][0]
        build = result.speed[f"build {label}"][0]
        lines.append(
            f"- **an image that matches nothing** (1080-px JPEGs of the {len(seconds)} people photos not protected), "
            f"whole path, {label}: {_stats(seconds)} ({alerts} alerts; matcher built in {build:.1f} s)"
        )
    enrol = result.enrol_seconds
    lines.append(
        f"- enrolling (`enrollment_views`: decode, 10 hashed views, keypoints of the photo and its mirror, and its avatar view: "
        f"{avatar.AVATAR_FEATURES:,} keypoints at {avatar.AVATAR_SIDE} px): "
        f"{_stats(enrol)} per photo, so {1000 * float(np.mean(enrol)):.0f} × 1,000 ms ≈ {float(np.mean(enrol)) * 1000:.0f} s "
        f"for 1,000 photos of this corpus's size (the decode of a 12-MP phone photo at 1/8 scale adds about 30 ms each)"
    )
    return lines


def _stats(seconds) -> str:
    values = np.array(list(seconds)) * 1000
    if values.size == 0:
        return "–"
    return f"{values.mean():.1f} / {np.median(values):.1f} / {np.percentile(values, 90):.1f}"


def _percent(hits: int, total: int) -> str:
    return f"{100 * hits / total:.1f} %" if total else "–"


def _ms(seconds) -> str:
    values = list(seconds)
    return f"{1000 * float(np.mean(values)):.1f}" if values else "–"


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
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS.resolve(), help="folder with people/ and scenes/ (default: %(default)s)")
    parser.add_argument("--protected", type=int, default=100, help="how many photos of people/ to protect")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=5000, help="protected photos for the scaling test (synthetic)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
    parser.add_argument("--distractors", type=int, default=None, help="use only this many distractors (quick runs; default: all)")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the markdown report (default: {RESULTS.name}, or {SPEED_RESULTS.name} with --speed-only)")
    parser.add_argument("--classes", default=",".join([*CLASSES, *EXTRA_CLASSES]), help="comma-separated transform classes to make copies of (default: all)")
    parser.add_argument("--speed-only", action="store_true", help="only the time per image that matches nothing, and enrolment (a few minutes)")
    args = parser.parse_args(argv)
    methods = tuple(m.strip() for m in args.methods.split(","))
    if "Sentinelle" not in methods or not set(methods) <= set(METHODS):
        parser.error(f"--methods must include Sentinelle, from {', '.join(METHODS)}")
    if not (args.corpus / "people").is_dir():
        parser.error(f"no corpus at {args.corpus} (a folder with people/ and scenes/)")
    command = shlex.join(["python", "-m", "benchmarks.matcher", *(sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.speed_only:
        text = speed_report(run_speed(args.corpus, args.protected, args.seed, args.scale, log), command)
    else:
        classes = tuple(c.strip() for c in args.classes.split(","))
        if not set(classes) <= set(CLASSES) | set(EXTRA_CLASSES):
            parser.error(f"--classes must be from {', '.join([*CLASSES, *EXTRA_CLASSES])}")
        result = run(args.corpus, args.protected, args.seed, args.scale, methods, args.distractors, log=log, classes=classes)
        text = report(result, command, methods)
    text += f"\nWhole run: {time.perf_counter() - started:.0f} s.\n"
    out = args.out or (SPEED_RESULTS if args.speed_only else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
