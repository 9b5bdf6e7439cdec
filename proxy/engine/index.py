"""The protected set's index, kept on disk beside the store: grown by adding a photo's segment, never rebuilt, and mapped (not copied) by every process that searches it.

The store is what is true; the index is what searches it, kept in step (`IndexFolder.update`,
called by whoever sees the store changed: `sentinelle enroll` when it is done, the running
proxy within a second, `sentinelle check` before it looks). It is a folder of immutable
segments (`proxy.engine.segment`) and of manifests, each a generation of the index: which
segments it is made of, which of their photos are hidden (forgotten since), the store's
photos revision it reflects, and what else the searching processes need (`extra`: the
children's names). A reader opens one manifest and maps its segments (`open_index`); a writer
adds a manifest, never changes one, so readers never see a half-made index.

- A photo enrolled is read from the store alone and written as a small segment: a second's work
  at most, whatever the album's size. A photo forgotten is hidden at once, and its data leave the
  files when its segment is written again (`tidy`, in the background).
- Segments are merged by size (`tidy`): a segment joins others of its size class when there are
  MERGE_FACTOR of them, so that there are few segments (each search visits them all) and a
  photo is written again only a few times in the album's life (log of its size).
- Writers take the folder's lock (`_Locked`) only to read and write manifests; a merge is
  written outside it and published if its segments are still there.
- Anything the folder does not recognise (another format, a damaged manifest) is set aside:
  the index is written again from the store, and that is all it costs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sentinelle.proxy.engine import avatar, keypoints
from sentinelle.proxy.engine.segment import Photo, Segment, merge, open_segment, read_ahead, write
from sentinelle.proxy.files import write_atomically

logger = logging.getLogger("sentinelle")

FORMAT = 2  # 2: the avatar lists of the two-level quantizer (1: 1,024 lists). Manifests of another format are not read: the index is written again
# Photos are written this many to a segment when many are added at once (a first start, a
# whole album enrolled): each batch is searchable as soon as it is written.
ADD_BATCH = 250
# Segments of fewer photos are merged whatever their number: a few writes of a few photos.
SMALL = 64
# Size classes: SMALL × MERGE_FACTOR^k photos. MERGE_FACTOR segments of one class become one of
# the next: at most MERGE_FACTOR - 1 segments a class, some log(n) classes.
MERGE_FACTOR = 4
# Manifests kept (with their segments) for processes still reading them, and for how long.
KEEP_MANIFESTS = 3
KEEP_SECONDS = 120.0
_MANIFEST = "manifest-{:08d}.json"
_LOCK = ".lock"
_TIDY_LOCK = ".tidy-lock"


@dataclass(frozen=True)
class Manifest:
    """One generation of the index."""

    path: Path
    generation: int
    revision: int  # the store's photos revision it reflects (-1: none yet)
    segments: tuple[str, ...]
    hidden: dict[str, tuple[int, ...]] = field(default_factory=dict)  # segment → rows of its photos hidden
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "generation": self.generation, "revision": self.revision,
                           "segments": list(self.segments), "hidden": {k: list(v) for k, v in self.hidden.items() if v},
                           "extra": self.extra})


def read_manifest(path: Path) -> Manifest:
    """A manifest as written; ValueError if it is not one of this format."""
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"{path.name}: index format {raw.get('format')}, not {FORMAT}")
        return Manifest(path, int(raw["generation"]), int(raw["revision"]), tuple(raw["segments"]),
                        {k: tuple(int(r) for r in v) for k, v in raw.get("hidden", {}).items()}, raw.get("extra", {}))
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path.name}: damaged ({e!r})") from None


# --- searching ----------------------------------------------------------------------------------


class Index:
    """The protected set as the matcher searches it: every segment's photos but the hidden ones."""

    def __init__(self, segments: Sequence[Segment], hidden: Sequence[Iterable[int]] = ()) -> None:
        self.segments = list(segments)
        hidden = list(hidden) + [()] * (len(self.segments) - len(hidden))
        self._alive = []
        for segment, rows in zip(self.segments, hidden):
            alive = np.ones(len(segment), bool)
            alive[list(rows)] = False
            self._alive.append(alive)
        # The hashed views, every segment's alive ones in one array: a few dozen bytes a photo,
        # compared with a seen image's hash at once.
        hashed = [(s, np.flatnonzero(a[s.arrays["hash_owner"]])) for s, a in zip(self.segments, self._alive)]
        self.hash_photo = _joined([s.photo_ids[s.arrays["hash_owner"][rows]] for s, rows in hashed], np.int64)
        self.hash_view = [s.view_names[v] for s, rows in hashed for v in s.arrays["hash_view"][rows]]
        self.hashes = _joined([np.asarray(s.arrays["hash_code"][rows]) for s, rows in hashed], np.uint8, (0, 32))
        self.photo_count = int(sum(a.sum() for a in self._alive))
        self.local = self._keypoint_index("local")
        self.avatar = self._keypoint_index("avatar")
        # Each photo's keypoint views by mirror or not, for checking a hash match.
        self.keypoints_of: dict[tuple[int, bool], int] = {}
        for row, (photo, name) in enumerate(zip(self._local_photos, self._local_names)):
            if self._local_alive[row]:
                self.keypoints_of.setdefault((int(photo), is_mirror(name)), row)

    def _keypoint_index(self, kind: str):
        firsts, photos, names, alive = [], [], [], []
        first = 0
        for segment, segment_alive in zip(self.segments, self._alive):
            owners = segment.arrays[f"{kind}_owner"]
            firsts.append(first)
            photos.append(segment.photo_ids[owners])
            names += [segment.view_names[v] for v in segment.arrays[f"{kind}_view"]]
            alive.append(segment_alive[owners])
            first += len(owners)
        starts = np.array(firsts + [first], np.int64)
        photo_of = _joined(photos, np.int64)
        alive_of = _joined(alive, bool)
        segments = self.segments

        def view_of(row: int) -> keypoints.Features:
            part = int(np.searchsorted(starts, row, side="right")) - 1
            return segments[part].features(kind, row - int(starts[part]))

        live = None if alive_of.all() else alive_of
        if kind == "local":
            self._local_photos, self._local_names, self._local_alive = photo_of, names, alive_of
            parts = [keypoints.Postings(s.arrays["lsh_offsets"], s.arrays["lsh_owner"], f) for s, f in zip(segments, firsts)]
            return keypoints.LocalIndex(parts, photo_of, view_of, live)
        return avatar.AvatarIndex([(s.lists, f) for s, f in zip(segments, firsts)], photo_of, view_of, live)

    def local_view_name(self, row: int) -> str:
        return self._local_names[row]

    def photo_ids(self) -> list[int]:
        """The photos it searches (the hidden ones left out)."""
        return [int(p) for segment, alive in zip(self.segments, self._alive) for p in segment.photo_ids[alive]]


def is_mirror(view: str) -> bool:
    return view == "mirror" or view.endswith(" mirror")


def _joined(pieces: list[np.ndarray], dtype, shape: tuple[int, ...] = (0,)) -> np.ndarray:
    return np.concatenate(pieces).astype(dtype, copy=False) if pieces else np.zeros(shape, dtype)


class Opened:
    """The segments one process has mapped, by name, kept from one generation to the next: a new
    generation maps only its new segments, and has their inverted lists read ahead (`read_ahead`)."""

    def __init__(self) -> None:
        self._segments: dict[tuple[str, str], Segment] = {}

    def index(self, manifest: Manifest) -> Index:
        folder = manifest.path.parent
        wanted = {(str(folder), name) for name in manifest.segments}
        for stale in set(self._segments) - wanted:
            del self._segments[stale]
        segments = []
        for name in manifest.segments:
            key = (str(folder), name)
            if key not in self._segments:
                self._segments[key] = open_segment(folder / name)
                read_ahead(folder / name)
            segments.append(self._segments[key])
        return Index(segments, [manifest.hidden.get(name, ()) for name in manifest.segments])


# --- keeping it -------------------------------------------------------------------------------------


class IndexFolder:
    """The folder an index is kept in, and the writer's side of it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def latest(self) -> Manifest | None:
        """The newest manifest of this format, or None."""
        for candidate in sorted(self.path.glob("manifest-*.json"), reverse=True):
            try:
                return read_manifest(candidate)
            except (OSError, ValueError) as e:
                logger.warning("Sentinelle set aside its index's %s (%s): it is written again.", candidate.name, e)
                return None
        return None

    def up_to_date(self, revision: int, extra: dict) -> Manifest | None:
        """The newest manifest if it reflects the store's `revision` and holds `extra` (read without the lock)."""
        latest = self.latest()
        return latest if latest is not None and latest.revision == revision and latest.extra == _as_json(extra) else None

    def update(self, revision: int, wanted: Sequence[tuple[int, bytes]], photos: Callable[[list[int]], Iterable[Photo]],
               extra: dict, *, again: bool = False, publish: Callable[[Manifest], None] = lambda manifest: None) -> Manifest:
        """Bring the index to the store's `revision`: `wanted` the store's photos as (id, key),
        `photos(ids)` reads those photos' views from the store, `extra` what the searching
        processes need besides (JSON). Photos the index lacks are added, ADD_BATCH to a segment,
        each batch published as soon as written (`publish` is told of each manifest); photos it
        holds that the store no longer does are hidden. `again`: every photo it holds is read anew
        (the store's fingerprints changed under it: an upgrade), its old entry hidden when the new
        one is published. Returns the newest manifest."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        extra = _as_json(extra)
        with _Locked(self.path / _LOCK):
            latest = self.latest()
            if not again and latest is not None and latest.revision == revision and latest.extra == extra:
                return latest
            segments = list(latest.segments) if latest else []
            hidden = {name: set(rows) for name, rows in (latest.hidden.items() if latest else ())}
            # With `again`, the photos held are read anew, but each still serves until its new
            # entry is published (`replaced`): an album being read again stays watched meanwhile.
            held: dict[tuple[int, bytes], tuple[str, int]] = {}
            replaced: dict[tuple[int, bytes], tuple[str, int]] = {}
            for name in segments:
                for row, key in enumerate(open_segment(self.path / name).keys):
                    if row not in hidden.get(name, ()):
                        (replaced if again else held)[key] = (name, row)
            wanted_set = set(wanted)
            for key, (name, row) in (held | replaced).items():
                if key not in wanted_set:
                    hidden.setdefault(name, set()).add(row)
            missing = [key for key in wanted if key not in held]
            generation = latest.generation if latest else self._last_generation()
            for start in range(0, len(missing), ADD_BATCH):
                batch = missing[start : start + ADD_BATCH]
                keys = dict(batch)
                name = self._new_segment_name()
                write(self.path / name, (Photo(p.photo_id, p.views, keys[p.photo_id]) for p in photos([i for i, _ in batch])
                                         if p.photo_id in keys))
                for old_name, old_row in (replaced[key] for key in batch if key in replaced):
                    hidden.setdefault(old_name, set()).add(old_row)
                segments.append(name)
                generation += 1
                done = start + len(batch) == len(missing)
                manifest = self._publish(generation, revision if done else -1, segments, hidden, extra)
                publish(manifest)
            if not missing:
                generation += 1
                manifest = self._publish(generation, revision, segments, hidden, extra)
                publish(manifest)
            return manifest

    def tidy(self) -> Manifest | None:
        """Write again each segment that holds hidden photos (their data then leave the disk), merge
        segments by size class, and delete what no recent manifest needs. One process at a time
        tidies (another's tidy is left to finish: this one returns at once)."""
        if not self.path.is_dir():
            return None
        with _Locked(self.path / _TIDY_LOCK, wait=False) as locked:
            if not locked:
                return self.latest()
            while (plan := self._next_merge()) is not None:
                sources, names = plan
                kept = [_alive(s, rows) for s, rows in sources]
                if not any(k.any() for k in kept):  # every photo of it forgotten: it goes, nothing to write
                    self._swap(names, None)
                    continue
                name = self._new_segment_name()
                merge(self.path / name, [s for s, _ in sources], kept)
                if not self._swap(names, name):
                    shutil.rmtree(self.path / name, ignore_errors=True)
                    break
            self._collect()
            return self.latest()

    def _next_merge(self) -> tuple[list[tuple[Segment, tuple[int, ...]]], list[str]] | None:
        """The segments to write as one next, with their hidden rows: a segment holding hidden
        photos (alone), else MERGE_FACTOR of a size class (all the small ones), else None."""
        latest = self.latest()
        if latest is None:
            return None
        for name in latest.segments:
            if latest.hidden.get(name):
                return [(open_segment(self.path / name), latest.hidden[name])], [name]
        sizes = {name: len(open_segment(self.path / name)) for name in latest.segments}
        by_class: dict[int, list[str]] = {}
        for name in latest.segments:
            by_class.setdefault(_size_class(sizes[name]), []).append(name)
        for size_class, names in sorted(by_class.items()):
            if (size_class == 0 and len(names) >= 2) or len(names) >= MERGE_FACTOR:
                chosen = names if size_class == 0 else names[:MERGE_FACTOR]
                return [(open_segment(self.path / n), ()) for n in chosen], chosen
        return None

    def _swap(self, replaced: list[str], merged: str | None) -> bool:
        """Publish a manifest where `merged` (None: nothing) takes the place of `replaced`, if they are
        all still there; photos hidden in them since the merge began are hidden in `merged` too."""
        with _Locked(self.path / _LOCK):
            latest = self.latest()
            if latest is None or not set(replaced) <= set(latest.segments):
                return False
            merged_keys = open_segment(self.path / merged).keys if merged else []
            rows = {key: row for row, key in enumerate(merged_keys)}
            hidden = {name: set(r) for name, r in latest.hidden.items() if name not in replaced}
            for name in replaced:
                keys = open_segment(self.path / name).keys
                for row in latest.hidden.get(name, ()):
                    if merged and keys[row] in rows:  # rows is empty without a merged segment
                        hidden.setdefault(merged, set()).add(rows[keys[row]])
            at = latest.segments.index(replaced[0])
            segments = [n for n in latest.segments[:at] if n not in replaced] + ([merged] if merged else []) + [
                n for n in latest.segments[at:] if n not in replaced]
            self._publish(latest.generation + 1, latest.revision, segments, hidden, latest.extra)
            return True

    def _publish(self, generation: int, revision: int, segments: Sequence[str], hidden: dict, extra: dict) -> Manifest:
        path = self.path / _MANIFEST.format(generation)
        manifest = Manifest(path, generation, revision, tuple(segments),
                            {name: tuple(sorted(rows)) for name, rows in hidden.items() if rows and name in segments}, extra)
        write_atomically(path, manifest.to_json())
        return manifest

    def _last_generation(self) -> int:
        """The highest generation of any manifest in the folder, read or not: an index written again
        after one of another format was set aside follows it, and is the one `latest` finds."""
        numbers = [int(path.stem.rpartition("-")[2]) for path in self.path.glob("manifest-*.json")
                   if path.stem.rpartition("-")[2].isdigit()]
        return max(numbers, default=0)

    def _new_segment_name(self) -> str:
        return f"segment-{time.time_ns():x}-{os.getpid()}"

    def _collect(self) -> None:
        """Delete the manifests older than the KEEP_MANIFESTS newest that are older than KEEP_SECONDS,
        the segments no remaining manifest names, and what an interrupted writer left."""
        with _Locked(self.path / _LOCK):
            manifests = sorted(self.path.glob("manifest-*.json"), reverse=True)
            now = time.time()
            kept = []
            for position, path in enumerate(manifests):
                try:
                    young = now - path.stat().st_mtime < KEEP_SECONDS
                except OSError:
                    continue
                if position < KEEP_MANIFESTS or young:
                    kept.append(path)
                else:
                    path.unlink(missing_ok=True)
            needed: set[str] = set()
            for path in kept:
                with contextlib.suppress(OSError, ValueError):
                    needed.update(read_manifest(path).segments)
            for entry in self.path.iterdir():
                if entry.name.startswith("segment-") and entry.name not in needed and entry.is_dir():
                    try:
                        if now - entry.stat().st_mtime > KEEP_SECONDS or not kept:
                            shutil.rmtree(entry)
                    except OSError:  # mapped by a process on a system that will not delete it (Windows): next time
                        pass
                elif entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        entry.unlink()


def _as_json(extra: dict) -> dict:
    """`extra` as it reads back from a manifest (tuples become lists)."""
    return json.loads(json.dumps(extra))


def _alive(segment: Segment, hidden_rows: Sequence[int]) -> np.ndarray:
    keep = np.ones(len(segment), bool)
    keep[list(hidden_rows)] = False
    return keep


def _size_class(photos: int) -> int:
    """0 for small segments, then 1, 2, ... for each MERGE_FACTOR times more photos."""
    size_class = 0
    bound = SMALL
    while photos >= bound:
        size_class += 1
        bound *= MERGE_FACTOR
    return size_class


def open_index(manifest: Path, opened: Opened | None = None) -> tuple[Index, dict]:
    """The index of a manifest, and its `extra`: for a process that only searches."""
    found = read_manifest(manifest)
    return (opened or Opened()).index(found), found.extra


class _Locked:
    """An exclusive lock on a file, across processes (fcntl where there is one, msvcrt on Windows);
    `wait=False`: does not wait, and says whether it got it (`with _Locked(p, wait=False) as got`)."""

    def __init__(self, path: Path, wait: bool = True) -> None:
        self._path, self._wait = path, wait
        self._file: BinaryIO | None = None

    def __enter__(self) -> bool:
        file = self._file = open(self._path, "a+b")
        if sys.platform == "win32":  # pragma: no cover - Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if not self._wait:
                        return False
                    time.sleep(0.05)
        else:
            import fcntl

            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | (0 if self._wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
        return True

    def __exit__(self, *exc) -> None:
        assert self._file is not None  # __enter__ opened it
        self._file.close()  # closing the file lets the lock go
