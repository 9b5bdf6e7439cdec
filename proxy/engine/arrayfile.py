"""A file of named numpy arrays, written once and mapped back into memory: how the protected set's index is kept on disk.

The checking processes map the same files (`numpy.memmap`, read-only), so the operating
system keeps one copy of their pages for all of them, loads a page only when a search first
touches it, and may drop it again under pressure: an album's keypoints cost the memory its
searches use, once, whatever the number of processes.

Layout: MAGIC, the length of a JSON header (8 bytes, little-endian), the header (each
array's dtype, shape and offset), then the arrays, each starting on an ALIGN-byte boundary.
A file is written whole under a temporary name and renamed, so a reader never sees half of
one (`write`); `read` refuses a file whose header or size do not add up.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAGIC = b"SNTLARR1"
ALIGN = 64
_LENGTH = struct.Struct("<Q")


class ArrayFileError(ValueError):
    """A file that is not an array file of this version, or is damaged."""


def write(path: Path, arrays: Mapping[str, np.ndarray], chunks: Mapping[str, Iterable[np.ndarray]] | None = None) -> None:
    """Write `arrays` to `path` at once (a temporary file renamed over it).

    `chunks`: arrays too large to hold in memory at once, given as their dtype and shape in
    `arrays` (an empty array of that dtype reshaped, e.g. `np.empty((0, 32), np.uint8)` with
    the total rows in `shapes`...): see `write_streamed`."""
    write_streamed(path, {name: (array.dtype, array.shape) for name, array in arrays.items()},
                   {name: [array] for name, array in arrays.items()} | dict(chunks or {}))


def write_streamed(path: Path, layout: Mapping[str, tuple[np.dtype, tuple[int, ...]]],
                   parts: Mapping[str, Iterable[np.ndarray]]) -> None:
    """Write arrays given as `layout` (name → dtype, shape) whose contents come as `parts`
    (name → successive pieces, rows in order), so that no array need be whole in memory."""
    header, offsets, size = _header(layout)
    with written_whole(path) as out:
        out.write(header)
        for name, (dtype, shape) in layout.items():
            out.seek(offsets[name])
            expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            written = 0
            for piece in parts[name]:
                data = np.ascontiguousarray(piece, dtype=dtype)
                out.write(data.data.cast("B"))
                written += data.nbytes
            if written != expected:
                raise ValueError(f"array {name!r}: {written} bytes written, {expected} expected")
        out.truncate(size)


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path` through: a temporary one beside it, synced and renamed over `path`
    when the block ends, removed if it fails; a reader sees the old file or the new one whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read(path: Path) -> dict[str, np.ndarray]:
    """The arrays of `path`, mapped read-only (no copy is made: pages load as they are read)."""
    size = path.stat().st_size
    if size < len(MAGIC) + _LENGTH.size:
        raise ArrayFileError(f"{path.name}: too short")
    whole = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(whole[: len(MAGIC)]) != MAGIC:
        raise ArrayFileError(f"{path.name}: not an array file of this version")
    (length,) = _LENGTH.unpack(bytes(whole[len(MAGIC): len(MAGIC) + _LENGTH.size]))
    start = len(MAGIC) + _LENGTH.size
    try:
        described = json.loads(bytes(whole[start: start + length]))
    except ValueError:
        raise ArrayFileError(f"{path.name}: damaged header") from None
    arrays = {}
    for name, (dtype, shape, offset) in described.items():
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if offset + count * dtype.itemsize > size:
            raise ArrayFileError(f"{path.name}: array {name!r} runs past the end of the file")
        arrays[name] = whole[offset: offset + count * dtype.itemsize].view(dtype).reshape(shape)
    return arrays


def _header(layout: Mapping[str, tuple[np.dtype, tuple[int, ...]]]) -> tuple[bytes, dict[str, int], int]:
    """The header bytes, each array's offset, and the file's size."""
    # The header's own length depends on the offsets it holds: place the arrays after a
    # generous guess, then check it.
    guess = ALIGN * (1 + (len(json.dumps({n: [np.dtype(d).str, list(s), 10**15] for n, (d, s) in layout.items()})) + 64) // ALIGN)
    offsets, position = {}, guess
    described = {}
    for name, (dtype, shape) in layout.items():
        offsets[name] = position
        described[name] = [np.dtype(dtype).str, [int(n) for n in shape], position]
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        position += -(-nbytes // ALIGN) * ALIGN
    text = json.dumps(described).encode()
    header = MAGIC + _LENGTH.pack(len(text)) + text
    if len(header) > guess:  # pragma: no cover - the guess holds every offset at its widest
        raise AssertionError("array file header larger than its room")
    return header, offsets, max(position, guess)
