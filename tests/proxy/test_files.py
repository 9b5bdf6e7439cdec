"""proxy/files.py: a file is replaced whole or not at all, with its mode from the first byte."""

from __future__ import annotations

import os
import stat

import pytest

from sentinelle.proxy.files import write_atomically


def test_a_file_is_replaced_whole_with_its_mode(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("old")
    write_atomically(path, b"new key", 0o600)
    assert path.read_bytes() == b"new key" and stat.S_IMODE(path.stat().st_mode) == 0o600
    write_atomically(path, "certificate", 0o644)
    assert path.read_text() == "certificate" and stat.S_IMODE(path.stat().st_mode) == 0o644
    write_atomically(path, lambda f: f.write(b"written by a function"))
    assert path.read_bytes() == b"written by a function"
    assert sorted(os.listdir(tmp_path)) == ["key.pem"]  # nothing left beside it


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "index"
    path.write_bytes(b"old index")

    def fails(f):
        f.write(b"half of a new ind")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, fails, prefix=".index-")
    assert path.read_bytes() == b"old index" and os.listdir(tmp_path) == ["index"]


def test_the_bytes_reach_the_disk_before_the_rename(tmp_path, monkeypatch):
    synced, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append(len(synced)), real_replace(a, b))[1])
    write_atomically(tmp_path / "counts.json", "{}")
    assert renamed == [1] and len(synced) == 2  # the file before the rename, then its folder
