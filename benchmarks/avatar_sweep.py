"""The avatar stage's search alone, under other settings: how its constants were chosen.

    python -m benchmarks.avatar_sweep base "AVATAR_FEATURES=4000" "AVATAR_FEATURES=6000,FAST_THRESHOLD=4"

The same photos as `python -m benchmarks.matcher` (its seed, its 100 protected photos of
`people/`, its hard distractors): each protected photo's avatar view (as enrolment makes it,
`fingerprint.avatar_view`) in one segment held in memory (`segment.in_memory`), then the avatar class's 12 profile pictures of every protected
photo (found: the right photo answers, as it is or mirrored) and of every hard distractor
(an answer is a stranger alerting). Each argument sets constants of `proxy.engine.avatar` for one
run ("base": as they are). The other stages are left out, and pictures under 64 px (which
the proxy does not look at) are counted like the others: the matcher's benchmark is what
the figures of docs/benchmarks.md come from; this one only compares settings, a minute each.
"""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.matcher import DEFAULT_CORPUS, draw
from benchmarks.transforms import AVATARS, at_both_sizes
from sentinelle.proxy.engine import avatar, segment
from sentinelle.proxy.engine.fingerprint import ENROL_DECODE_SIDE, avatar_view
from sentinelle.proxy.engine.images import open_image
from sentinelle.proxy.engine.index import Index
from sentinelle.proxy.engine.segment import Photo

cv2.setNumThreads(1)

Copy = tuple[int, str, bytes]  # photo (its row), size ("own size" or "upscaled"), the picture


def profile_pictures(paths: list[Path]) -> list[Copy]:
    both_sizes = at_both_sizes(AVATARS)
    copies = []
    for row, path in enumerate(paths):
        img = open_image(path.read_bytes(), min_side=1)
        copies += [(row, t.size, t.apply(img)) for t in both_sizes]
    return copies


def settings(spec: str) -> dict[str, object]:
    """"NAME=value,NAME=value" → {NAME: value}, each NAME a constant of proxy.engine.avatar."""
    if spec == "base":
        return {}
    values = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if not hasattr(avatar, name.strip()):
            raise SystemExit(f"proxy.engine.avatar has no {name.strip()}")
        values[name.strip()] = ast.literal_eval(value.strip())
    return values


def answer(index: avatar.AvatarIndex, data: bytes) -> int | None:
    gray = np.asarray(open_image(data, min_side=1).convert("L"))
    for mirror in (False, True):
        if (found := index.search(avatar.seen_features(gray, mirror=mirror))) is not None:
            return found.row
    return None


def run(spec: str, enrolled: list, copies: list[Copy], strangers: list[Copy]) -> str:
    values = settings(spec)
    saved = {name: getattr(avatar, name) for name in values}
    for name, value in values.items():
        setattr(avatar, name, value)
    try:
        start = time.process_time()
        index = Index([segment.in_memory(Photo(row, [(avatar.AVATAR_VIEW, avatar_view(img))]) for row, img in enumerate(enrolled))]).avatar
        found = {"own size": 0, "upscaled": 0}
        for row, size, data in copies:
            found[size] += answer(index, data) == row
        alerts = sum(answer(index, data) is not None for _, _, data in strangers)
        seconds = time.process_time() - start
    finally:
        for name, value in saved.items():
            setattr(avatar, name, value)
    per_size = len(copies) // 2
    return (f"{spec}: found {found['own size']}/{per_size} at own size, {found['upscaled']}/{per_size} upscaled; "
            f"strangers alerting {alerts}/{len(strangers)} ({seconds:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help='"base", or NAME=value[,NAME=value...] of proxy.engine.avatar')
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--protected", type=int, default=100)
    args = parser.parse_args(argv)
    protected, _, hard = draw(args.corpus, args.protected, args.seed)
    enrolled = [open_image(path.read_bytes(), reduce_to=ENROL_DECODE_SIDE, min_side=1) for path in protected]
    copies, strangers = profile_pictures(protected), profile_pictures(hard)
    for spec in args.settings:
        print(run(spec, enrolled, copies, strangers), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
