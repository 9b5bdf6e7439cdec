"""proxy/engine/index.py and segment.py: the index kept on disk answers as a matcher built in memory does, grows by a photo's segment, hides a forgotten photo at once and drops its data when tidied, tells a photo from another given its id later, and is mapped, not copied, by whoever searches it."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.transforms import AVATARS, CLASSES
from sentinelle.proxy.engine import index as kept
from sentinelle.proxy.engine.fingerprint import enrollment_views, fingerprint
from sentinelle.proxy.engine.index import IndexFolder, Opened, open_index
from sentinelle.proxy.engine.matcher import Matcher
from sentinelle.proxy.engine.segment import LISTS, Photo, open_segment, read_ahead

KODAK = Path(__file__).parents[2] / "fixtures" / "kodak"
# One copy a stage: the hash of the whole image, the photo in a screenshot, keypoints, a profile picture.
COPIES = {t.name: t for t in sum(CLASSES.values(), ()) if t.name in ("640 wide, q85", "light, phone resolution", "78 %, right")}
COPIES["avatar"] = AVATARS[0]


@functools.cache
def views(number: int) -> tuple:
    return tuple(enrollment_views((KODAK / f"kodim{number:02d}.jpg").read_bytes()))


@functools.cache
def copy(number: int, name: str) -> bytes:
    return COPIES[name].apply(Image.open(KODAK / f"kodim{number:02d}.jpg").convert("RGB"))


def key(number: int, generation: int = 0) -> bytes:
    """A photo's key, as the SHA-256 of its bytes would be (`generation`: another photo under the same id)."""
    return bytes([generation]) + number.to_bytes(31, "big")


class Album:
    """A store's protected photos as the index sees them: (id, key) → Kodak number."""

    def __init__(self) -> None:
        self.photos: dict[tuple[int, bytes], int] = {}
        self.revision = 0

    def add(self, photo_id: int, number: int, generation: int = 0) -> None:
        self.photos[(photo_id, key(number, generation))] = number
        self.revision += 1

    def forget(self, photo_id: int) -> None:
        self.photos = {k: n for k, n in self.photos.items() if k[0] != photo_id}
        self.revision += 1

    def read(self, ids: list[int]) -> list[Photo]:
        by_id = {k[0]: n for k, n in self.photos.items()}
        return [Photo(photo_id, views(by_id[photo_id])) for photo_id in ids if photo_id in by_id]

    def bring(self, folder: IndexFolder, **kwargs) -> kept.Manifest:
        return folder.update(self.revision, list(self.photos), self.read, {"children": []}, **kwargs)

    def in_memory(self) -> Matcher:
        return Matcher([(photo_id, view, fp) for (photo_id, _), number in self.photos.items() for view, fp in views(number)])


def answers(matcher: Matcher, numbers) -> list:
    out = []
    for number in numbers:
        for name in COPIES:
            found = matcher.match(fingerprint(copy(number, name)))
            out.append(found and (found.photo_id, found.stage, found.view, found.inliers, found.region))
    return out


def three_photos(folder: IndexFolder, *, one_by_one: bool) -> Album:
    """Kodak 1, 4 and 7 as photos 1, 2 and 3, in `folder`'s index: added one by one (a segment and a
    generation each) or at once."""
    album = Album()
    for photo_id, number in ((1, 1), (2, 4), (3, 7)):
        album.add(photo_id, number)
        if one_by_one:
            album.bring(folder)
    album.bring(folder)
    return album


def on_disk(manifest: kept.Manifest) -> Matcher:
    return Matcher(open_index(manifest.path)[0])


def test_the_index_on_disk_answers_as_one_made_in_memory(tmp_path):
    album = Album()
    for photo_id, number in enumerate((1, 4, 15, 23), start=1):
        album.add(photo_id, number)
    manifest = album.bring(IndexFolder(tmp_path))
    probes = (1, 4, 15, 23, 2, 5)  # the protected four, and two strangers
    found = answers(on_disk(manifest), probes)
    assert found == answers(album.in_memory(), probes)
    stages = {f[1] for f in found if f}
    assert stages == {"global", "frame", "local", "avatar"}
    assert all(f is None for f in found[-2 * len(COPIES):])  # the strangers


def test_a_photo_added_is_a_segment_of_its_own_and_the_others_are_not_written_again(tmp_path):
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(1, 1)
    first = album.bring(folder)
    written = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and "segment-" in str(p)}
    album.add(2, 4)
    second = album.bring(folder)
    assert second.segments[:1] == first.segments and len(second.segments) == 2
    assert all(p.stat().st_mtime_ns == t for p, t in written.items())
    assert on_disk(second).match(fingerprint(copy(4, "78 %, right"))).photo_id == 2


def test_an_index_already_up_to_date_is_left_as_it_is(tmp_path):
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(1, 1)
    first = album.bring(folder)
    assert album.bring(folder) == first
    assert folder.up_to_date(album.revision, {"children": []}) == first


def test_a_forgotten_photo_is_hidden_at_once_and_its_data_leave_the_files_when_tidied(tmp_path):
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(1, 1)
    album.add(2, 4)
    album.bring(folder)
    album.forget(2)
    hidden = album.bring(folder)
    assert on_disk(hidden).match(fingerprint(copy(4, "78 %, right"))) is None  # at once
    assert len(on_disk(hidden)) == 1
    tidied = folder.tidy()
    assert tidied.hidden == {}
    held = [open_segment(tmp_path / name) for name in tidied.segments]
    assert [int(i) for s in held for i in s.photo_ids] == [1]
    # No file of the index holds photo 2's keypoints any more (older segments deleted once unneeded).
    descriptors = views(4)[0][1].features.descriptors[:20].tobytes()
    for path in tmp_path.rglob("*"):
        if path.is_file() and "segment-" in str(path.parent) and path.parent.name in tidied.segments:
            assert descriptors not in path.read_bytes()
    assert on_disk(tidied).match(fingerprint(copy(1, "78 %, right"))).photo_id == 1


def test_an_id_given_again_to_another_photo_is_that_photo(tmp_path):
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(7, 1)
    album.bring(folder)
    album.forget(7)
    album.add(7, 23, generation=1)  # SQLite gave id 7 again, to another photo
    manifest = album.bring(folder)
    matcher = on_disk(manifest)
    assert matcher.match(fingerprint(copy(1, "78 %, right"))) is None
    assert matcher.match(fingerprint(copy(23, "78 %, right"))).photo_id == 7


def test_checking_processes_map_the_files_rather_than_copy_them(tmp_path):
    album = Album()
    album.add(1, 1)
    manifest = album.bring(IndexFolder(tmp_path))
    found, _ = open_index(manifest.path)
    segment = found.segments[0]
    for name in ("local_desc", "avatar_desc", "lsh_owner", "local_thumbs"):
        assert isinstance(segment.arrays[name].base, np.memmap), name
    # The avatar lists are read by faiss from the mapped file: no copy of them in this process.
    assert segment.lists.ntotal == len(segment.arrays["avatar_desc"])


def test_a_new_generation_maps_only_its_new_segments(tmp_path):
    album, folder, opened = Album(), IndexFolder(tmp_path), Opened()
    album.add(1, 1)
    first = opened.index(album.bring(folder))
    album.add(2, 4)
    second = opened.index(album.bring(folder))
    assert second.segments[0] is first.segments[0]


def resident_pages(path: Path) -> tuple[int, int]:
    """(pages of `path` in the page cache, pages of `path`), as util-linux's fincore reads them (mincore)."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "PAGES,SIZE", str(path)],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), -(-int(out[1]) // os.sysconf("SC_PAGE_SIZE"))


@pytest.mark.skipif(not hasattr(os, "posix_fadvise") or shutil.which("fincore") is None,
                    reason="posix_fadvise and util-linux's fincore (Linux) read the page cache")
def test_a_process_that_opens_the_index_has_its_inverted_lists_read_into_the_page_cache(tmp_path):
    # A first start of the day: the lists are on the disk only. Opening the index asks the system
    # to read them ahead, in the background, so that the first profile pictures do not each wait
    # on a few thousand scattered reads.
    album, folder, opened = Album(), IndexFolder(tmp_path), Opened()
    album.add(1, 1)
    album.add(2, 4)
    manifest = album.bring(folder)
    lists = [tmp_path / name / LISTS for name in manifest.segments]
    for path in lists:
        drop(path)
    assert all(resident_pages(path)[0] < resident_pages(path)[1] for path in lists)
    opened.index(manifest)
    deadline = time.monotonic() + 10
    while not all(resident_pages(path)[0] == resident_pages(path)[1] for path in lists) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [resident_pages(path)[0] for path in lists] == [resident_pages(path)[1] for path in lists]



@pytest.mark.skipif(not hasattr(os, "posix_fadvise") or shutil.which("fincore") is None,
                    reason="posix_fadvise and util-linux's fincore (Linux) read the page cache")
def test_inverted_lists_larger_than_the_system_s_readahead_window_are_read_whole(tmp_path):
    # 10,000 photos' lists are gigabytes; a system reads ahead a few megabytes at a time when asked
    # (8 MB here: POSIX_FADV_WILLNEED stops there). The sweep reads every page.
    segment = tmp_path / "segment"
    segment.mkdir()
    (segment / LISTS).write_bytes(os.urandom(64 << 20))
    drop(segment / LISTS)
    assert resident_pages(segment / LISTS)[0] < resident_pages(segment / LISTS)[1] // 2
    read_ahead(segment).join(timeout=60)
    pages, of = resident_pages(segment / LISTS)
    assert pages >= 0.95 * of  # the system may already be giving a few back


def drop(path: Path) -> None:
    """Take `path` out of the page cache, as after a restart."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # written pages must reach the disk before they can be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)

def test_a_manifest_of_another_format_is_set_aside_and_the_index_written_again(tmp_path):
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(1, 1)
    manifest = album.bring(folder)
    raw = json.loads(manifest.path.read_text())
    manifest.path.write_text(json.dumps(raw | {"format": kept.FORMAT + 1}))
    assert folder.latest() is None
    again = album.bring(folder)
    assert on_disk(again).match(fingerprint(copy(1, "78 %, right"))).photo_id == 1


def test_an_index_of_an_earlier_format_is_written_again_once_and_its_files_go(tmp_path, monkeypatch):
    # An earlier Sentinelle's index has many generations: the new one must follow them, or the
    # newest manifest would still be the old one and the index be written again at every look.
    monkeypatch.setattr(kept, "KEEP_SECONDS", 0.0)
    folder = IndexFolder(tmp_path)
    album = three_photos(folder, one_by_one=True)
    old_segments = {p.name for p in tmp_path.glob("segment-*")}
    for path in tmp_path.glob("manifest-*.json"):
        path.write_text(json.dumps(json.loads(path.read_text()) | {"format": kept.FORMAT - 1}))
    assert folder.latest() is None
    again = album.bring(folder)
    assert folder.latest() == again and album.bring(folder) == again
    assert not set(again.segments) & old_segments
    folder.tidy()
    assert not {p.name for p in tmp_path.glob("segment-*")} & old_segments
    assert answers(on_disk(folder.latest()), [1, 4, 7]) == answers(album.in_memory(), [1, 4, 7])


def test_photos_read_again_when_the_store_s_fingerprints_changed(tmp_path):
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(1, 1)
    first = album.bring(folder)
    again = album.bring(folder, again=True)
    assert set(again.segments) - set(first.segments) and again.hidden == {first.segments[0]: (0,)}
    assert len(on_disk(again)) == 1


def test_photos_read_again_are_watched_until_their_new_entries_are_there(tmp_path, monkeypatch):
    # An upgrade that rewrites the store's fingerprints reads the whole album again: at 10,000 photos
    # minutes, during which a photo hidden before its new entry is written would not be watched.
    monkeypatch.setattr(kept, "ADD_BATCH", 1)
    folder = IndexFolder(tmp_path)
    album = three_photos(folder, one_by_one=False)
    served = []
    album.bring(folder, again=True, publish=lambda manifest: served.append(sorted(on_disk(manifest).index.photo_ids())))
    assert served == [[1, 2, 3]] * 3


def test_many_batches_are_merged_into_few_segments_by_size(tmp_path, monkeypatch):
    monkeypatch.setattr(kept, "SMALL", 2)
    monkeypatch.setattr(kept, "MERGE_FACTOR", 2)
    album, folder = Album(), IndexFolder(tmp_path)
    numbers = [1, 4, 7, 15, 19, 23, 2, 3]
    for photo_id, number in enumerate(numbers, start=1):
        album.add(photo_id, number)
        album.bring(folder)
        folder.tidy()
    tidied = folder.latest()
    sizes = [len(open_segment(tmp_path / name)) for name in tidied.segments]
    assert sum(sizes) == 8 and len(sizes) <= 3  # 8 photos added one by one: 4 + 2 + 2 at most, not 8 segments
    assert answers(on_disk(tidied), [4, 23]) == answers(album.in_memory(), [4, 23])


# --- a property: whatever was added and forgotten, in whatever batches, the index holds the store's photos ---

POOL = (1, 4, 7, 15, 19, 23)
steps = st.lists(st.tuples(st.sampled_from(("add", "forget", "tidy")), st.integers(1, 8), st.sampled_from(POOL)),
                 min_size=1, max_size=12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_index_holds_the_store_s_photos_whatever_the_history(tmp_path_factory, steps):
    folder = IndexFolder(tmp_path_factory.mktemp("index"))
    album = Album()
    generation = 0
    for action, photo_id, number in steps:
        if action == "add" and photo_id not in {k[0] for k in album.photos}:
            generation += 1
            album.add(photo_id, number, generation % 256)
        elif action == "forget":
            album.forget(photo_id)
        elif action == "tidy":
            folder.tidy()
        album.bring(folder)
    found, _ = open_index(folder.latest().path)
    assert sorted(found.photo_ids()) == sorted(k[0] for k in album.photos)
    matcher = Matcher(found)
    for (_photo_id, _), number in album.photos.items():
        assert matcher.match(fingerprint(copy(number, "78 %, right"))).photo_id in {
            i for (i, _), n in album.photos.items() if n == number}


def test_what_a_killed_writer_left_is_cleared(tmp_path, monkeypatch):
    monkeypatch.setattr(kept, "KEEP_SECONDS", 0.0)
    album, folder = Album(), IndexFolder(tmp_path)
    album.add(1, 1)
    album.bring(folder)
    (tmp_path / ".arrays.123.tmp").write_bytes(b"half")
    (tmp_path / "segment-dead").mkdir()
    os.utime(tmp_path / "segment-dead", (0, 0))
    folder.tidy()
    assert not (tmp_path / ".arrays.123.tmp").exists() and not (tmp_path / "segment-dead").exists()
