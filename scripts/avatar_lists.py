"""Train the avatar stage's fixed quantizer once: the centroids of its inverted lists (proxy/engine/avatar_lists.npy, avatar_fine.npy).

    .venv/bin/python scripts/avatar_lists.py [--check]

The avatar views (`proxy.engine.avatar.enrolled_features`) of the 24 Kodak fixtures
(tests/fixtures/kodak, released for unrestricted use) and of their mirrors: some 288,000 ORB
descriptors, clustered by faiss's binary k-means (its fixed seed, one thread) into
`avatar.COARSE_LISTS` centroids. ORB descriptors of any photo fall into the same few shapes of corner,
so lists trained on these photos serve every album; they are trained here, once, and shipped,
so that a photo's descriptors are placed in their lists when it is enrolled and never again.
Then each coarse centroid is split into `avatar.FINE_CELLS` fine ones, by k-means again on the
descriptors nearest to it among those of more views of the same fixtures (mirrored, turned a
quarter, reduced by a quarter: some 1.1 million, a dozen or more a fine cell); a coarse centroid
with too few of them for its cells keeps copies of itself (empty lists, never searched in vain).
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
    for img in _kodak():
        for picture in (img, ImageOps.mirror(img)):
            descriptors.append(avatar.enrolled_features(picture).descriptors)
    sample = np.ascontiguousarray(np.concatenate(descriptors))
    index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(keypoints.DESCRIPTOR_BYTES * 8), keypoints.DESCRIPTOR_BYTES * 8, avatar.COARSE_LISTS)
    index.cp.seed = 20261207
    index.train(sample)
    return faiss.downcast_IndexBinary(index.quantizer).reconstruct_n(0, avatar.COARSE_LISTS)


def train_fine(coarse: np.ndarray) -> np.ndarray:
    """FINE_CELLS centroids for each of the `coarse` ones (COARSE_LISTS × FINE_CELLS × 32 bytes)."""
    faiss.omp_set_num_threads(1)
    views = []
    for img in _kodak():
        for picture in (img, ImageOps.mirror(img)):
            for turned in (picture, picture.rotate(90, expand=True)):
                for scale in (1.0, 0.75):
                    seen = turned if scale == 1.0 else turned.resize((int(turned.width * scale), int(turned.height * scale)))
                    views.append(avatar.enrolled_features(seen).descriptors)
    sample = np.ascontiguousarray(np.concatenate(views))
    flat = faiss.IndexBinaryFlat(keypoints.DESCRIPTOR_BYTES * 8)
    flat.add(coarse)
    _, nearest = flat.search(sample, 1)
    fine = np.repeat(coarse[:, None, :], avatar.FINE_CELLS, axis=1)
    for number in range(len(coarse)):
        members = sample[nearest[:, 0] == number]
        if len(members) <= avatar.FINE_CELLS:
            fine[number, : len(members)] = members
            continue
        # Binary k-means as faiss trains its binary IVF: on the bits as floats, centroids rounded.
        bits = np.unpackbits(members, axis=1).astype(np.float32)
        kmeans = faiss.Kmeans(bits.shape[1], avatar.FINE_CELLS, niter=20, seed=20261207 + number, min_points_per_centroid=1)
        kmeans.train(bits)
        fine[number] = np.packbits(kmeans.centroids > 0.5, axis=1)
    return fine


def _kodak():
    for path in sorted(KODAK.glob("*.jpg")):
        yield protected_picture(path.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="train again and compare with the file shipped")
    args = parser.parse_args()
    centroids = train()
    trained = {avatar.LISTS_FILE: centroids, avatar.FINE_FILE: train_fine(centroids)}
    if args.check:
        same = True
        for path, found in trained.items():
            alike = path.exists() and np.array_equal(np.load(path), found)
            print(f"{path.name}: {'the same' if alike else 'DIFFERENT'} when trained again")
            same = same and alike
        return 0 if same else 1
    for path, found in trained.items():
        np.save(path, found)
        print(f"wrote {path} ({found.shape[0] * (found.shape[1] if found.ndim == 3 else 1)} centroids)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
