"""Shared fixtures: a private data dir, the Kodak photos, and images made on the spot."""

from __future__ import annotations

import io
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
