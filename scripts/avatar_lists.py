"""Train the avatar stage's fixed quantizer once: the centroids of its inverted lists (proxy/engine/avatar_lists.npy).

    .venv/bin/python scripts/avatar_lists.py [--check]

The avatar views (`proxy.engine.avatar.enrolled_features`) of the 24 Kodak fixtures
(tests/fixtures/kodak, released for unrestricted use) and of their mirrors: some 288,000 ORB
descriptors, clustered by faiss's binary k-means (its fixed seed, one thread) into
`avatar.LISTS` centroids. ORB descriptors of any photo fall into the same few shapes of corner,
so lists trained on these photos serve every album; they are trained here, once, and shipped,
so that a photo's descriptors are placed in their lists when it is enrolled and never again.
`--check` trains again and says whether the result is the file shipped (faiss's k-means is
deterministic for a given faiss version and input).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import faiss
import numpy as np
from PIL import ImageOps

from sentinelle.proxy.engine import avatar, keypoints
from sentinelle.proxy.engine.fingerprint import protected_picture

KODAK = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "kodak"


def train() -> np.ndarray:
    faiss.omp_set_num_threads(1)
    descriptors = []
    for path in sorted(KODAK.glob("*.jpg")):
        img = protected_picture(path.read_bytes())
        for picture in (img, ImageOps.mirror(img)):
            descriptors.append(avatar.enrolled_features(picture).descriptors)
    sample = np.ascontiguousarray(np.concatenate(descriptors))
    index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(keypoints.DESCRIPTOR_BYTES * 8), keypoints.DESCRIPTOR_BYTES * 8, avatar.LISTS)
    index.cp.seed = 20261207
    index.train(sample)
    return faiss.downcast_IndexBinary(index.quantizer).reconstruct_n(0, avatar.LISTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="train again and compare with the file shipped")
    args = parser.parse_args()
    centroids = train()
    if args.check:
        same = avatar.LISTS_FILE.exists() and np.array_equal(np.load(avatar.LISTS_FILE), centroids)
        print(f"{avatar.LISTS_FILE.name}: {'the same' if same else 'DIFFERENT'} when trained again")
        return 0 if same else 1
    np.save(avatar.LISTS_FILE, centroids)
    print(f"wrote {avatar.LISTS_FILE} ({len(centroids)} centroids)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
