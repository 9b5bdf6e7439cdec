"""Test only: a valid image in every supported format, and seeded ways to break one (fuzzing)."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image

import sentinelle.proxy.engine.images  # noqa: F401 - registers the HEIF opener and saver

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "HEIF")
_PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "kodak" / "kodim05.jpg"


def seed_images(width: int = 240) -> dict[str, bytes]:
    """The same photo saved in each supported format."""
    with Image.open(_PHOTO) as photo:
        small = photo.convert("RGB").resize((width, round(photo.height * width / photo.width)))
    seeds = {}
    for fmt in FORMATS:
        out = io.BytesIO()
        small.save(out, fmt)
        seeds[fmt] = out.getvalue()
    return seeds


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def insert_junk(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]


def zero_run(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + bytes(min(len(data) - at, rng.randint(1, 512))) + data[at + 512:]


def header_only(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(1, 64)]


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(0, 4096))


def huge_dimensions(data: bytes, rng: random.Random) -> bytes:
    """Claim an enormous size in the header (a decompression bomb), keeping it well formed."""
    side = rng.choice([30_000, 65_000, 65_535])
    if data.startswith(b"\x89PNG"):
        ihdr = struct.pack(">II", side, side) + data[24:29]
        return data[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + data[33:]
    if data.startswith(b"\xff\xd8"):
        sof = data.find(b"\xff\xc0")
        if sof > 0:
            return data[: sof + 5] + struct.pack(">HH", side, side) + data[sof + 9:]
    if data.startswith(b"GIF"):
        return data[:6] + struct.pack("<HH", side, side) + data[10:]
    return flip_bytes(data, rng)


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f for f in (truncate, flip_bytes, insert_junk, zero_run, header_only, random_bytes,
                            huge_dimensions)
}


def broken(seeds: dict[str, bytes], fmt: str, seed: int) -> tuple[str, bytes]:
    """One broken image, the same for the same (format, seed): (mutation name, bytes)."""
    rng = random.Random(f"{fmt}-{seed}")
    name = rng.choice(sorted(MUTATIONS))
    return name, MUTATIONS[name](seeds[fmt], rng)
