"""One part of the protected set's index: the enrolled views of some photos and what searches them, in arrays written once and mapped back by every checking process.

A segment never changes once written: photos enrolled later make a new segment, a forgotten
photo is hidden at once (`proxy.engine.index` keeps the list) and leaves the files when its
segment is written again, and small segments are merged into larger ones (`merge`). What a
photo costs to index is paid once, when it is added, never again at a start or at another
photo's change.

For each photo (its id in the store, and the SHA-256 of its bytes: the same id given later to
another photo is another photo), a segment holds:

- the 256-bit hash of each hashed view (`proxy.engine.fingerprint`): the global and frame stages;
- the keypoints of its "original" and "mirror" views (`proxy.engine.keypoints.Features`), and
  the LSH postings through which a seen image's keypoints vote for them (`keypoints.postings`);
- the keypoints of its "avatar" view (`proxy.engine.avatar`), and the same descriptors again in
  the inverted lists of the avatar stage's fixed quantizer: a faiss binary IVF file beside the
  arrays, written here list by list (`_ivf_parts`) and mapped by faiss without a copy.

Merging reads its segments through their mappings and writes the merged arrays a part at a
time (a chunk of views, of LSH buckets, one inverted list): the memory it takes does not grow
with the album.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import cast

import faiss
import numpy as np

from sentinelle.proxy.engine import arrayfile, avatar, keypoints
from sentinelle.proxy.engine.fingerprint import PHASH_BYTES, Fingerprint

ARRAYS = "arrays"  # a segment's arrays (proxy.engine.arrayfile)
LISTS = "avatar.ivf"  # its avatar descriptors' inverted lists (faiss)
READ_AHEAD_CHUNK = 1 << 20  # bytes `read_ahead` reads at a time
KEY_BYTES = 32  # a photo's key: the SHA-256 of its bytes
_NO_KEY = bytes(KEY_BYTES)
DESCRIPTOR_BYTES = keypoints.DESCRIPTOR_BYTES
# A merge copies this many views' keypoints at a time, and this many LSH buckets.
_CHUNK_VIEWS = 2048
_CHUNK_BUCKETS = 1 << 16
# The arrays a kind of keypoint view ("local", "avatar") has, per view, then per keypoint.
_PER_VIEW = ("owner", "view", "dims")
_BULK = {"points": (np.float32, (2,)), "desc": (np.uint8, (DESCRIPTOR_BYTES,)), "thumbs": (np.uint8, ())}


@dataclass(frozen=True)
class Photo:
    """A protected photo's enrolled views, as the store holds them."""

    photo_id: int
    views: Sequence[tuple[str, Fingerprint]]
    key: bytes = _NO_KEY  # the SHA-256 of its bytes (zeros when unknown: a matcher made in a test)


def grouped(entries: Iterable[tuple[int, str, Fingerprint]]) -> list[Photo]:
    """(photo id, view, fingerprint) triples as photos, in the order the photos first appear."""
    views: dict[int, list[tuple[str, Fingerprint]]] = {}
    for photo_id, view, fp in entries:
        views.setdefault(int(photo_id), []).append((view, fp))
    return [Photo(photo_id, found) for photo_id, found in views.items()]


class Segment:
    """A segment's arrays, in this process's memory (`in_memory`) or mapped from its files (`open_segment`)."""

    def __init__(self, arrays: dict[str, np.ndarray], lists: faiss.IndexBinaryIVF) -> None:
        self.arrays = arrays
        self.lists = lists  # the avatar descriptors' inverted lists, for faiss's search
        self.photo_ids: np.ndarray = arrays["photo_id"]
        self.view_names: list[str] = json.loads(bytes(arrays["view_names"]).decode())

    def __len__(self) -> int:
        """How many photos it holds."""
        return len(self.photo_ids)

    @cached_property
    def keys(self) -> list[tuple[int, bytes]]:
        """(id, key) of each of its photos, in order."""
        return [(int(i), bytes(k)) for i, k in zip(self.photo_ids, self.arrays["photo_key"])]

    def features(self, kind: str, row: int) -> keypoints.Features:
        """The keypoints of the `kind` ("local" or "avatar") view at `row`."""
        a = self.arrays
        start, end = (int(v) for v in a[f"{kind}_start"][row : row + 2])
        thumb_start, thumb_end = (int(v) for v in a[f"{kind}_thumb_start"][row : row + 2])
        width, height, thumb_width, thumb_height = (int(v) for v in a[f"{kind}_dims"][row])
        return keypoints.Features(
            np.asarray(a[f"{kind}_points"][start:end]),
            np.asarray(a[f"{kind}_desc"][start:end]),
            width,
            height,
            np.asarray(a[f"{kind}_thumbs"][thumb_start:thumb_end]).reshape(thumb_height, thumb_width),
        )


# --- building a segment from photos -----------------------------------------------------------


class _Views:
    """Keypoint views of one kind ("local", "avatar") gathered a view at a time."""

    def __init__(self) -> None:
        self.per_view: dict[str, list] = {name: [] for name in _PER_VIEW}
        self.bulk: dict[str, list[np.ndarray]] = {name: [] for name in _BULK}

    def add(self, owner: int, view: int, features: keypoints.Features) -> None:
        thumb_height, thumb_width = features.thumb.shape
        self.per_view["owner"].append(owner)
        self.per_view["view"].append(view)
        self.per_view["dims"].append((features.width, features.height, thumb_width, thumb_height))
        self.bulk["points"].append(np.asarray(features.points, np.float32).reshape(-1, 2))
        self.bulk["desc"].append(np.asarray(features.descriptors, np.uint8).reshape(-1, DESCRIPTOR_BYTES))
        self.bulk["thumbs"].append(np.asarray(features.thumb, np.uint8).reshape(-1))

    def arrays(self, kind: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {
            f"{kind}_owner": np.array(self.per_view["owner"], np.int32),
            f"{kind}_view": np.array(self.per_view["view"], np.uint8),
            f"{kind}_dims": np.array(self.per_view["dims"], np.int32).reshape(-1, 4),
            f"{kind}_start": _starts(len(p) for p in self.bulk["points"]),
            f"{kind}_thumb_start": _starts(len(t) for t in self.bulk["thumbs"]),
        }
        for name, (dtype, shape) in _BULK.items():
            pieces = self.bulk[name]
            out[f"{kind}_{name}"] = np.concatenate(pieces) if pieces else np.zeros((0, *shape), dtype)
        return out


def build(photos: Iterable[Photo]) -> dict[str, np.ndarray]:
    """The arrays of a segment holding `photos`. A view named "avatar" goes to the avatar stage
    alone; a view without keypoints (a platform crop) is hashed only."""
    names: dict[str, int] = {}
    photo_ids, photo_keys = [], []
    hash_owner, hash_view, hash_codes = [], [], []
    local, avatars = _Views(), _Views()
    for row, photo in enumerate(photos):
        photo_ids.append(int(photo.photo_id))
        photo_keys.append(np.frombuffer(photo.key, np.uint8))
        for name, fp in photo.views:
            if not isinstance(fp, Fingerprint):
                raise TypeError(f"expected a Fingerprint for photo {photo.photo_id} ({name}), got {type(fp).__name__}")
            code = names.setdefault(name, len(names))
            if name == avatar.AVATAR_VIEW:
                if fp.local:
                    avatars.add(row, code, fp.features)
                continue
            hash_owner.append(row)
            hash_view.append(code)
            hash_codes.append(np.frombuffer(fp.phash, np.uint8))
            if fp.local:
                local.add(row, code, fp.features)
    if len(names) > 256:
        raise ValueError("more than 256 view names")
    arrays = {
        "view_names": _names(names),
        "photo_id": np.array(photo_ids, np.int64),
        "photo_key": np.array(photo_keys, np.uint8).reshape(-1, KEY_BYTES),
        "hash_owner": np.array(hash_owner, np.int32),
        "hash_view": np.array(hash_view, np.uint8),
        "hash_code": np.array(hash_codes, np.uint8).reshape(-1, PHASH_BYTES),
        **local.arrays("local"),
        **avatars.arrays("avatar"),
    }
    arrays["lsh_offsets"], arrays["lsh_owner"] = keypoints.postings(arrays["local_desc"], arrays["local_start"])
    arrays["avatar_list"] = avatar.assign(arrays["avatar_desc"]).astype(np.int32)
    return arrays


def in_memory(photos: Iterable[Photo]) -> Segment:
    """A segment that lives in this process only (a matcher made in a test or a benchmark)."""
    arrays = build(photos)
    lists = b"".join(_ivf_parts(*_avatar_lists_of(arrays)))
    return Segment(arrays, _ivf(faiss.deserialize_index_binary(np.frombuffer(lists, np.uint8))))


def write(directory: Path, photos: Iterable[Photo]) -> None:
    """Write a segment of `photos` into `directory`, which must not exist yet."""
    arrays = build(photos)
    directory.mkdir()
    arrayfile.write(directory / ARRAYS, arrays)
    _write_file(directory / LISTS, _ivf_parts(*_avatar_lists_of(arrays)))


def open_segment(directory: Path) -> Segment:
    """A segment written by `write` or `merge`, mapped read-only."""
    arrays = arrayfile.read(directory / ARRAYS)
    return Segment(arrays, _ivf(faiss.read_index_binary(str(directory / LISTS), faiss.IO_FLAG_MMAP_IFC)))


def read_ahead(directory: Path) -> threading.Thread:
    """Read a segment's inverted lists once, from a thread of its own, so that the system keeps them
    in its page cache; return that thread.

    A profile picture's search reads a few thousand places in them, scattered: from a cold page
    cache (a first start of the day) each was a read from the disk, about 1 s a picture at
    10,000 photos for the first ones, 230 ms still after sixty. Read in one sweep, they are in
    memory soon after the start. The pages are the system's cache, shared by every process and
    given back under memory pressure: nothing is held but READ_AHEAD_CHUNK. (POSIX_FADV_WILLNEED
    would do it without the copy, but Linux reads no more of it than its readahead window, a few
    megabytes: 1.8 % of 10,000 photos' lists.) The arrays, read by every image, warm up by themselves."""

    def sweep() -> None:
        chunk = bytearray(READ_AHEAD_CHUNK)
        try:
            with open(directory / LISTS, "rb", buffering=0) as lists:
                while lists.readinto(chunk):
                    pass
        except OSError:  # gone with a merge, or unreadable: its search says so
            pass

    thread = threading.Thread(target=sweep, name=f"read-ahead {directory.name}", daemon=True)
    thread.start()
    return thread


def _ivf(index: faiss.IndexBinary) -> faiss.IndexBinaryIVF:
    # The lists are written as an IndexBinaryIVF (`_ivf_parts`), and faiss's readers hand back
    # the subclass (SWIG downcasts); its stubs name the base class only.
    return cast(faiss.IndexBinaryIVF, index)


def _avatar_lists_of(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The avatar lists' sizes, and each list's (descriptors, ids: their view rows), in list order."""
    lists = arrays["avatar_list"]
    order = np.argsort(lists, kind="stable")
    sizes = np.bincount(lists, minlength=avatar.LISTS)
    owners = np.repeat(np.arange(len(arrays["avatar_owner"]), dtype=np.int64), np.diff(arrays["avatar_start"]))
    bounds = _starts(sizes)
    descriptors, ids = arrays["avatar_desc"][order], owners[order]
    return sizes, [(descriptors[a:b], ids[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


# --- the avatar descriptors' inverted lists, as a faiss file -----------------------------------
#
# faiss reads a binary IVF index as its own header (with the quantizer), then the inverted
# lists: "ilar", the number of lists and the code size, "full", each list's size, then each
# list's codes followed by its ids. The header is faiss's own, serialised from an empty index
# that has the quantizer and the total; the lists are written here one after the other, so that
# a merge never holds them all. IO_FLAG_MMAP_IFC maps the codes from the file, without a copy.


def _ivf_parts(sizes: np.ndarray, lists: Iterable[tuple[np.ndarray, np.ndarray]]) -> Iterator[bytes]:
    index = faiss.IndexBinaryIVF(avatar.quantizer(), DESCRIPTOR_BYTES * 8, avatar.LISTS)
    index.is_trained = True
    index.ntotal = int(sizes.sum())
    serialised = faiss.serialize_index_binary(index).tobytes()
    empty = serialised.rfind(b"ilar")
    if empty < 0:  # pragma: no cover - faiss's format
        raise RuntimeError("faiss serialised an IVF index without its inverted lists")
    yield (serialised[:empty] + b"ilar" + struct.pack("<QQ", avatar.LISTS, DESCRIPTOR_BYTES) + b"full"
           + struct.pack("<Q", len(sizes)) + np.asarray(sizes, "<u8").tobytes())
    for codes, ids in lists:
        if len(codes):
            yield np.ascontiguousarray(codes, np.uint8).tobytes() + np.asarray(ids, "<i8").tobytes()


def _write_file(path: Path, parts: Iterable[bytes]) -> None:
    with arrayfile.written_whole(path) as out:
        for part in parts:
            out.write(part)


# --- merging ------------------------------------------------------------------------------------


def merge(directory: Path, sources: Sequence[Segment], kept: Sequence[np.ndarray]) -> None:
    """Write into `directory` (which must not exist) one segment of the photos of `sources` that
    `kept` (for each source, a boolean for each of its photos) keeps, in order, a part at a time."""
    names: dict[str, int] = {}
    small: dict[str, list[np.ndarray]] = {}
    maps = []  # per source: new row of each photo, of each local view, of each avatar view (-1: dropped)
    base = {"photo": 0, "local": 0, "avatar": 0}
    for segment, keep in zip(sources, kept):
        a = segment.arrays
        recode = np.array([names.setdefault(name, len(names)) for name in segment.view_names], np.uint8)
        photos = _renumber(keep, base, "photo")
        small.setdefault("photo_id", []).append(a["photo_id"][keep])
        small.setdefault("photo_key", []).append(a["photo_key"][keep])
        hashed = keep[a["hash_owner"]]
        small.setdefault("hash_owner", []).append(photos[a["hash_owner"][hashed]].astype(np.int32))
        small.setdefault("hash_view", []).append(recode[a["hash_view"][hashed]])
        small.setdefault("hash_code", []).append(a["hash_code"][hashed])
        views = {}
        for kind in ("local", "avatar"):
            alive = keep[a[f"{kind}_owner"]]
            views[kind] = _renumber(alive, base, kind)
            small.setdefault(f"{kind}_owner", []).append(photos[a[f"{kind}_owner"][alive]].astype(np.int32))
            small.setdefault(f"{kind}_view", []).append(recode[a[f"{kind}_view"][alive]])
            small.setdefault(f"{kind}_dims", []).append(a[f"{kind}_dims"][alive])
        maps.append(views)
    if len(names) > 256:
        raise ValueError("more than 256 view names")
    layout: dict[str, tuple[np.dtype, tuple[int, ...]]] = {}
    parts: dict[str, Iterable[np.ndarray]] = {}
    for name, pieces in small.items():
        joined = np.concatenate(pieces)
        layout[name], parts[name] = (joined.dtype, joined.shape), [joined]
    view_names = _names(names)
    layout["view_names"], parts["view_names"] = (view_names.dtype, view_names.shape), [view_names]
    for kind in ("local", "avatar"):
        for column in ("start", "thumb_start"):
            counts = np.concatenate([np.diff(s.arrays[f"{kind}_{column}"])[m[kind] >= 0] for s, m in zip(sources, maps)])
            starts = _starts(counts)
            layout[f"{kind}_{column}"], parts[f"{kind}_{column}"] = (starts.dtype, starts.shape), [starts]
            if column == "start":
                for bulk in ("points", "desc"):
                    dtype, shape = _BULK[bulk]
                    layout[f"{kind}_{bulk}"] = (np.dtype(dtype), (int(starts[-1]), *shape))
                    parts[f"{kind}_{bulk}"] = _bulk_pieces(sources, maps, kind, bulk, "start")
            else:
                layout[f"{kind}_thumbs"] = (np.dtype(np.uint8), (int(starts[-1]),))
                parts[f"{kind}_thumbs"] = _bulk_pieces(sources, maps, kind, "thumbs", "thumb_start")
    # The avatar descriptors' list numbers follow them, as their other arrays do.
    layout["avatar_list"] = (np.dtype(np.int32), layout["avatar_desc"][1][:1])
    parts["avatar_list"] = _bulk_pieces(sources, maps, "avatar", "list", "start")
    offsets, owner_count = _merged_bucket_sizes(sources, maps)
    layout["lsh_offsets"], parts["lsh_offsets"] = (offsets.dtype, offsets.shape), [offsets]
    layout["lsh_owner"], parts["lsh_owner"] = (np.dtype(np.int32), (owner_count,)), _merged_postings(sources, maps)
    directory.mkdir()
    arrayfile.write_streamed(directory / ARRAYS, layout, parts)
    sizes = sum((_list_sizes(s, m["avatar"]) for s, m in zip(sources, maps)), np.zeros(avatar.LISTS, np.int64))
    _write_file(directory / LISTS, _ivf_parts(sizes, _merged_lists(sources, maps)))


def _renumber(alive: np.ndarray, base: dict[str, int], kind: str) -> np.ndarray:
    """New rows for the rows `alive` keeps (after those of the sources before), -1 for the others."""
    new = np.full(len(alive), -1, np.int64)
    count = int(alive.sum())
    new[alive] = base[kind] + np.arange(count)
    base[kind] += count
    return new


def _bulk_pieces(sources: Sequence[Segment], maps: list[dict], kind: str, bulk: str, starts: str) -> Iterator[np.ndarray]:
    """The per-keypoint array `kind`_`bulk` of the kept views, in order, a chunk of views at a time."""
    for segment, views in zip(sources, maps):
        a = segment.arrays
        rows = np.flatnonzero(views[kind] >= 0)
        bounds = a[f"{kind}_{starts}"]
        column = a[f"{kind}_{bulk}"]
        for chunk in range(0, len(rows), _CHUNK_VIEWS):
            picked = rows[chunk : chunk + _CHUNK_VIEWS]
            yield column[_ranges(bounds[picked], bounds[picked + 1] - bounds[picked])]


def _merged_bucket_sizes(sources: Sequence[Segment], maps: list[dict]) -> tuple[np.ndarray, int]:
    """The merged LSH postings' bucket offsets, and how many there are: each bucket's kept postings."""
    buckets = keypoints.BUCKETS
    sizes = np.zeros(buckets, np.int64)
    for segment, views in zip(sources, maps):
        a = segment.arrays
        for low in range(0, buckets, _CHUNK_BUCKETS):
            high = min(buckets, low + _CHUNK_BUCKETS)
            start, end = int(a["lsh_offsets"][low]), int(a["lsh_offsets"][high])
            alive = views["local"][a["lsh_owner"][start:end]] >= 0
            bucket = np.repeat(np.arange(low, high), np.diff(a["lsh_offsets"][low : high + 1]))
            sizes[low:high] += np.bincount(bucket[alive] - low, minlength=high - low)
    offsets = np.zeros(buckets + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets.astype(np.int32) if offsets[-1] < 2**31 else offsets, int(offsets[-1])


def _merged_postings(sources: Sequence[Segment], maps: list[dict]) -> Iterator[np.ndarray]:
    """The merged postings' owners (new local rows), bucket by bucket, each bucket's from every source in order."""
    buckets = keypoints.BUCKETS
    for low in range(0, buckets, _CHUNK_BUCKETS):
        high = min(buckets, low + _CHUNK_BUCKETS)
        owners, positions = [], []
        for segment, views in zip(sources, maps):
            a = segment.arrays
            start, end = int(a["lsh_offsets"][low]), int(a["lsh_offsets"][high])
            new = views["local"][a["lsh_owner"][start:end]]
            alive = new >= 0
            owners.append(new[alive])
            positions.append(np.repeat(np.arange(low, high), np.diff(a["lsh_offsets"][low : high + 1]))[alive])
        bucket = np.concatenate(positions)
        yield np.concatenate(owners)[np.argsort(bucket, kind="stable")].astype(np.int32)


def _list_sizes(segment: Segment, avatar_rows: np.ndarray) -> np.ndarray:
    a = segment.arrays
    alive = np.repeat(avatar_rows >= 0, np.diff(a["avatar_start"]))
    return np.bincount(a["avatar_list"][alive], minlength=avatar.LISTS)


def _merged_lists(sources: Sequence[Segment], maps: list[dict]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each merged inverted list in turn: every source's entries of that list whose view is kept,
    read from the source's own lists file, their ids made the new view rows."""
    readers = [_ListReader(segment) for segment in sources]
    for number in range(avatar.LISTS):
        codes, ids = [], []
        for reader, views in zip(readers, maps):
            list_codes, list_ids = reader.list(number)
            new = views["avatar"][list_ids]
            alive = new >= 0
            codes.append(list_codes[alive])
            ids.append(new[alive])
        yield np.concatenate(codes), np.concatenate(ids)


class _ListReader:
    """One inverted list at a time from a segment's faiss lists (mapped, or in memory)."""

    def __init__(self, segment: Segment) -> None:
        self._lists = segment.lists.invlists

    def list(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        size = self._lists.list_size(number)
        if size == 0:
            return np.zeros((0, DESCRIPTOR_BYTES), np.uint8), np.zeros(0, np.int64)
        codes = faiss.rev_swig_ptr(self._lists.get_codes(number), size * DESCRIPTOR_BYTES)
        ids = faiss.rev_swig_ptr(self._lists.get_ids(number), size)
        return np.array(codes).reshape(size, DESCRIPTOR_BYTES), np.array(ids)


# --- small helpers --------------------------------------------------------------------------------


def _starts(counts: Iterable[int]) -> np.ndarray:
    """Offsets of consecutive runs of `counts` items: [0, c0, c0 + c1, ...]."""
    counts = np.fromiter(counts, np.int64) if not isinstance(counts, np.ndarray) else counts.astype(np.int64)
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Every index of [start, start + count) for each pair, in order, without a Python loop."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    return np.repeat(np.asarray(starts, np.int64) - np.cumsum(counts) + counts, counts) + np.arange(total, dtype=np.int64)


def _names(names: dict[str, int]) -> np.ndarray:
    return np.frombuffer(json.dumps(list(names)).encode(), np.uint8)
