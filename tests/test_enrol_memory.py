"""Decoding a photo for enrolment is bounded in memory: the peak resident memory of `sentinelle enroll`
(a child process, as the kernel counts it), and of each format's decoder against what Sentinelle
estimates it takes before it decodes (proxy/engine/images.py: `Limits`).

The peak is the child's VmHWM (/proc/self/status), not getrusage's ru_maxrss: Linux carries the
parent's resident size at fork over into the child's ru_maxrss, so a child of pytest (some 250 MB)
would report at least that, whatever it did.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from sentinelle.proxy.engine.images import PROTECTED
from tests.conftest import kodak

MB = 2**20


# Run in a child process, then print its peak resident memory in bytes on the last line of stderr.
_PEAK = textwrap.dedent("""
    import atexit, sys
    from pathlib import Path

    def peak():
        status = Path("/proc/self/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
        print(int(kb) * 1024, file=sys.stderr)

    atexit.register(peak)
""")


def peak_rss(code: str, *args: str) -> tuple[int, str]:
    """Run Python `code` in a child process with `args`: its peak resident memory in bytes, and what it printed."""
    done = subprocess.run([sys.executable, "-c", _PEAK + code, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stderr.strip().splitlines()[-1]), done.stdout


def enrol_peak(photo: Path, data_dir: Path) -> int:
    peak, output = peak_rss("from sentinelle.server.cli.main import main; main()",
                            "--data-dir", str(data_dir), "enroll", str(photo))
    assert "Enrolled 1 photo(s)" in output, output
    return peak


def drawn(size: tuple[int, int]) -> Image.Image:
    """A large picture that compresses well (a flat background, shapes): what a hostile file would hold."""
    img = Image.new("RGB", size, (200, 180, 160))
    draw = ImageDraw.Draw(img)
    width, height = size
    for i in range(24):
        x, y = i * width // 24, i * height // 24
        draw.ellipse((x, y, x + width // 8, y + height // 10), fill=(i * 10, 90, 200 - i * 8))
        draw.rectangle((width - x - width // 14, y, width - x, y + height // 20), fill=(30, i * 10, 60))
    return img


@pytest.fixture(scope="module")
def large_photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("large")
    photos = {"7,000 × 7,000 PNG": folder / "square.png", "12,000 × 6,000 PNG": folder / "wide.png",
              "12,000 × 6,000 JPEG": folder / "wide.jpg"}
    drawn((7000, 7000)).save(photos["7,000 × 7,000 PNG"], compress_level=6)
    wide = drawn((12000, 6000))
    wide.save(photos["12,000 × 6,000 PNG"], compress_level=1)
    wide.paste(Image.open(kodak(5)).convert("RGB").resize((6000, 4000)), (3000, 1000))  # detail for the JPEG
    wide.save(photos["12,000 × 6,000 JPEG"], quality=90)
    return photos


def test_enrolling_a_large_photo_takes_little_more_memory_than_a_small_one(large_photos, tmp_path):
    # Before: the 7,000-px PNG took 381 MB more than a Kodak photo, and 12,000-px photos were
    # refused (more than 50 MP). Now a PNG is read in bands and a JPEG decoded at 1/8 scale: what
    # is left is the file itself, which enrolment reads whole (its SHA-256 is the photo's name).
    small = enrol_peak(kodak(5), tmp_path / "small")
    for name, photo in large_photos.items():
        extra = enrol_peak(photo, tmp_path / photo.stem) - small
        print(f"{name}: {photo.stat().st_size / MB:.1f} MB file, {extra / MB:.0f} MB more than a Kodak photo")
        assert extra < photo.stat().st_size + 80 * MB, name


ESTIMATED = {
    "WebP": ("WEBP", {"quality": 80}),
    "HEIF": ("HEIF", {"quality": 60}),
    "AVIF": ("AVIF", {"quality": 60, "speed": 10}),
    "progressive JPEG": ("JPEG", {"quality": 90, "progressive": True}),
    "GIF": ("GIF", {}),
}

# The resident memory before decoding, then decode: the peak comes after.
_DECODE = textwrap.dedent("""
    import resource
    from sentinelle.proxy.engine.images import PROTECTED, open_image
    data = Path(sys.argv[1]).read_bytes()
    print(int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize())
    open_image(data, reduce_to=512, limits=PROTECTED)
""")


@pytest.mark.parametrize("fmt, options", ESTIMATED.values(), ids=ESTIMATED.keys())
def test_what_a_photo_is_said_to_take_is_not_less_than_it_takes(fmt, options, tmp_path):
    # Formats decoded whole are admitted by an estimate made from their header: it must not
    # fall short of the decoder's real peak, or the limits would not hold.
    photo = tmp_path / f"photo.{fmt.lower()}"
    Image.open(kodak(5)).convert("RGB").resize((4800, 3200)).save(photo, fmt, **options)
    from sentinelle.proxy.engine.images import ImageError, Limits, open_image

    with pytest.raises(ImageError) as refused:  # no memory at all allowed: it says what it would take
        open_image(photo.read_bytes(), reduce_to=512, limits=Limits(PROTECTED.pixels, 0))
    estimate = int(str(refused.value).split("takes about ")[1].split(" MB")[0]) * MB
    peak, before = peak_rss(_DECODE, str(photo))
    taken = peak - int(before)
    print(f"{fmt} {options}: estimated {estimate / MB:.0f} MB, took {taken / MB:.0f} MB")
    assert taken <= estimate + 8 * MB  # a few MB of the decoder's own besides the pictures
    assert estimate < 3 * taken + 32 * MB  # and not so far above that photos are refused for nothing
