"""Shared fixtures: a private data dir, the Kodak photos, and images made on the spot."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

KODAK = Path(__file__).parent / "fixtures" / "kodak"


def kodak(number: int) -> Path:
    return KODAK / f"kodim{number:02d}.jpg"


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def square_crop_copy(path: Path, width: int = 480, quality: int = 80) -> bytes:
    """What a platform makes of a photo: a centre square crop, resized and re-encoded."""
    with Image.open(path) as image:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = image.crop((left, top, left + side, top + side)).resize((width, width))
        return jpeg_bytes(square, quality)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "sentinelle-data"


def png_bomb(side: int = 100_000) -> bytes:
    """A small PNG that claims side × side pixels: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grayscale
    rows = zlib.compress(b"\0" * (1 + side // 8) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
