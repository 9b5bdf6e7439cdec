"""What enrolling a photo costs: the time a photo takes into a fresh store, for folders of photos.

    python -m benchmarks.enrolment FOLDER [FOLDER...] [--limit 50] [--as-phone]

Each photo is enrolled as `sentinelle enroll` enrols it (read, fingerprinted, written in one
transaction to a store in a temporary data dir), one after the other in this process, after one
photo to warm up; prints the mean and median time a photo for each folder, in CPU time (enrolment
runs on one core: on a machine shared with other work, its wall-clock time says more about the
neighbours than about enrolment) and wall-clock time. `--as-phone` first
makes each photo a 12-MP phone photo (4032 × 3024 or 3024 × 4032, JPEG quality 90), the size a
parent's album holds. Run it under `flock /tmp/sentinelle-bench.lock`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from benchmarks.scene import machine

PHONE = (4032, 3024)


def as_phone(photo: Path, folder: Path) -> Path:
    img = Image.open(photo).convert("RGB")
    size = PHONE if img.width >= img.height else PHONE[::-1]
    out = folder / f"{photo.stem}.jpg"
    img.resize(size, Image.Resampling.BICUBIC).save(out, quality=90)
    return out


def time_folder(photos: list[Path]) -> tuple[list[float], list[float]]:
    """CPU and wall-clock seconds each photo took to enrol, into a fresh store."""
    from sentinelle.server.alerts.enroll import ENROLLED, enroll_bytes
    from sentinelle.server.store.records import Store

    with tempfile.TemporaryDirectory() as data_dir:
        store = Store(Path(data_dir))
        try:
            warm = enroll_bytes(store, photos[0].read_bytes(), "warm-up", None)
            store.forget_photo(warm.photo["id"])
            cpu, wall = [], []
            for photo in photos:
                data = photo.read_bytes()
                start, start_cpu = time.perf_counter(), time.process_time()
                outcome = enroll_bytes(store, data, photo.name, None)
                cpu.append(time.process_time() - start_cpu)
                wall.append(time.perf_counter() - start)
                if outcome.status != ENROLLED:
                    raise SystemExit(f"{photo}: {outcome.status} ({outcome.reason})")
            return cpu, wall
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=50, help="photos a folder (default 50)")
    parser.add_argument("--as-phone", action="store_true", help="make each photo a 12-MP phone photo first")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as phone_dir:
        for folder in args.folders:
            photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.limit]
            if args.as_phone:
                photos = [as_phone(photo, Path(phone_dir)) for photo in photos]
            cpu, wall = time_folder(photos)
            size = Image.open(photos[0]).size
            print(f"{folder} ({len(photos)} photos, e.g. {size[0]}×{size[1]}): CPU mean {1000 * statistics.mean(cpu):.0f} ms, "
                  f"median {1000 * statistics.median(cpu):.0f} ms a photo; wall-clock mean {1000 * statistics.mean(wall):.0f} ms")


if __name__ == "__main__":
    main()
