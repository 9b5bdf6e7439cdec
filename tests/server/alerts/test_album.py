"""server/alerts/album.py: folders and ZIP exports become photos to read one at a time; a hostile archive is refused, or its members, each with the reason."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from sentinelle.server.alerts import album
from sentinelle.server.alerts.album import Album, Unreadable
from tests.conftest import jpeg_bytes, kodak


def webp_bytes(path: Path) -> bytes:
    out = io.BytesIO()
    Image.open(path).save(out, "WEBP")
    return out.getvalue()


def write_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def read_all(paths: list[Path]) -> tuple[dict[str, bytes | str], int]:
    """Each candidate's bytes, or the reason it was not read; and the files left alone."""
    with Album(paths) as found:
        read = {}
        for candidate in found.candidates:
            try:
                read[candidate.source] = candidate.read()
            except Unreadable as refused:
                read[candidate.source] = refused.reason
        return read, found.ignored


def test_an_instagram_export_gives_its_pictures_and_leaves_the_rest_alone(tmp_path):
    export = write_zip(tmp_path / "instagram-alice.zip", {
        "media/posts/202301/17900000001.jpg": kodak(5).read_bytes(),
        "media/stories/202302/17900000002.webp": webp_bytes(kodak(15)),
        "media/reels/202303/17900000003.mp4": b"\x00\x00\x00\x18ftypmp42",
        "your_instagram_activity/content/posts_1.json": b'[{"media": []}]',
        "index.html": b"<html></html>",
        "media/profile/": b"",
        "__MACOSX/media/posts/202301/._17900000001.jpg": b"\x00\x05\x16\x07",
    })
    read, ignored = read_all([export])
    assert list(read) == [f"{export}:media/posts/202301/17900000001.jpg", f"{export}:media/stories/202302/17900000002.webp"]
    assert read[f"{export}:media/posts/202301/17900000001.jpg"] == kodak(5).read_bytes()
    assert ignored == 3  # the video, the JSON and the HTML; not the folder nor macOS's "._" file
    with Album([export]) as found:
        assert [c.name for c in found.candidates] == ["17900000001.jpg", "17900000002.webp"]


def test_folders_archives_and_files_come_in_the_order_given(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.jpg").write_bytes(kodak(5).read_bytes())
    (folder / "sub" / "a.jpg").write_bytes(kodak(15).read_bytes())
    write_zip(folder / "takeout.zip", {"Takeout/Google Photos/2023/IMG_0001.JPG": kodak(7).read_bytes()})
    single = tmp_path / "single.png"
    single.write_bytes(b"not really")
    read, _ = read_all([single, folder])
    assert list(read) == [str(single), str(folder / "b.jpg"), str(folder / "sub" / "a.jpg"),
                          f"{folder / 'takeout.zip'}:Takeout/Google Photos/2023/IMG_0001.JPG"]


def test_a_member_s_path_leads_nowhere_and_its_name_cannot_rewrite_the_terminal(tmp_path):
    export = write_zip(tmp_path / "tricks.zip", {
        "../../outside.jpg": kodak(5).read_bytes(),
        "/etc/cron.d/x.jpg": kodak(5).read_bytes(),
        "C:\\Users\\me\\photo.jpg": kodak(5).read_bytes(),
        "clear\x1b[2J\rscreen.jpg": kodak(5).read_bytes(),
    })
    before = sorted(tmp_path.parent.rglob("*"))
    with Album([export]) as found:
        names = [c.name for c in found.candidates]
        sources = [c.source for c in found.candidates]
        assert all(c.read() == kodak(5).read_bytes() for c in found.candidates)
    assert sorted(tmp_path.parent.rglob("*")) == before  # nothing extracted anywhere
    assert names == ["outside.jpg", "x.jpg", "photo.jpg", "clear\\x1b[2J\\rscreen.jpg"]
    assert all(source.isprintable() for source in sources)
    (tmp_path / "red\x1b[31m.jpg").write_bytes(kodak(5).read_bytes())  # a file in a folder, too
    with Album([tmp_path / "red\x1b[31m.jpg"]) as found:
        assert [(c.source, c.name) for c in found.candidates] == [(f"{tmp_path}/red\\x1b[31m.jpg", "red\\x1b[31m.jpg")]


def test_members_that_are_not_read_say_why(tmp_path):
    zeros = bytes(60 * 2**20)
    export = write_zip(tmp_path / "hostile.zip", {
        "huge.jpg": zeros,  # 60 MB that deflate to 60 KB: larger than any photo file
        "bomb.png": zeros[: 20 * 2**20],  # 20 MB deflated a thousand times: not a photo
        "inner.zip": write_zip(tmp_path / "inner.zip", {"a.jpg": kodak(5).read_bytes()}).read_bytes(),
        "fine.jpg": kodak(5).read_bytes(),
    })
    read, _ = read_all([export])
    assert read[f"{export}:huge.jpg"] == "larger than 50 MB"
    assert "(a ZIP bomb)" in read[f"{export}:bomb.png"]
    assert read[f"{export}:inner.zip"].startswith("an archive inside the archive is not opened")
    assert read[f"{export}:fine.jpg"] == kodak(5).read_bytes()


def patched(data: bytes, name: bytes, change) -> bytes:
    """The archive with `change(header, at)` applied to the local and central headers of member `name`."""
    data = bytearray(data)
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        at = data.index(signature + b"")
        while data[at + name_at : at + name_at + len(name)] != name:
            at = data.index(signature, at + 1)
        change(data, at, signature)
    return bytes(data)


def test_a_member_that_lies_about_its_size_is_damaged_not_read_further(tmp_path):
    data = write_zip(tmp_path / "a.zip", {"liar.jpg": bytes(3 * 2**20)}).read_bytes()

    def claim_1000_bytes(header, at, signature):
        size_at = at + (22 if signature == b"PK\x03\x04" else 24)
        header[size_at : size_at + 4] = struct.pack("<I", 1000)

    liar = tmp_path / "liar.zip"
    liar.write_bytes(patched(data, b"liar.jpg", claim_1000_bytes))
    read, _ = read_all([liar])
    assert read[f"{liar}:liar.jpg"].startswith("damaged in the archive")


@pytest.mark.parametrize("flag, method, says", [(0x1, None, "encrypted"), (0, 9, "compressed with a method")],
                         ids=["encrypted", "deflate64"])
def test_members_sentinelle_cannot_open_say_why(tmp_path, flag, method, says):
    data = write_zip(tmp_path / "a.zip", {"a.jpg": kodak(5).read_bytes()}).read_bytes()

    def change(header, at, signature):
        flags_at, method_at = (at + 6, at + 8) if signature == b"PK\x03\x04" else (at + 8, at + 10)
        header[flags_at] |= flag
        if method is not None:
            header[method_at : method_at + 2] = struct.pack("<H", method)

    archive = tmp_path / "b.zip"
    archive.write_bytes(patched(data, b"a.jpg", change))
    read, _ = read_all([archive])
    assert read[f"{archive}:a.jpg"].startswith(says)


def test_overlapping_members_refuse_the_archive(tmp_path):
    # One compressed block listed as ten files: the shape of the "overlapping files" ZIP bombs.
    data = write_zip(tmp_path / "a.zip", {"a0.jpg": bytes(2**20)}).read_bytes()
    central = data.index(b"PK\x01\x02")
    end = data.index(b"PK\x05\x06")
    entry = data[central:end]
    entries = b"".join(entry.replace(b"a0.jpg", f"a{i}.jpg".encode()) for i in range(10))
    record = bytearray(data[end:])
    record[8:12] = struct.pack("<HH", 10, 10)
    record[12:16] = struct.pack("<I", len(entries))
    bomb = tmp_path / "overlap.zip"
    bomb.write_bytes(data[:central] + entries + bytes(record))
    read, _ = read_all([bomb])
    assert read == {str(bomb): "its files overlap one another (a ZIP bomb): not read"}


def test_an_archive_listing_too_many_files_is_refused_before_they_are_listed(tmp_path, monkeypatch):
    data = bytearray(write_zip(tmp_path / "a.zip", {"a.jpg": b"x"}).read_bytes())
    end = data.index(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 60_000, 60_000)
    (tmp_path / "many.zip").write_bytes(bytes(data))
    monkeypatch.setattr(album, "MAX_MEMBERS", 50_000)
    monkeypatch.setattr(zipfile, "ZipFile", None)  # it never gets as far as Python's reader
    read, _ = read_all([tmp_path / "many.zip"])
    assert read[str(tmp_path / "many.zip")] == "it lists 60,000 files, more than the 50,000 Sentinelle reads from one archive"


def test_a_zip64_archive_is_counted_from_its_zip64_record(tmp_path, monkeypatch):
    many = write_zip(tmp_path / "many.zip", {f"{i}.txt": b"" for i in range(65_536)}, zipfile.ZIP_STORED)
    assert album._declared_members(many) == 65_536
    monkeypatch.setattr(album, "MAX_MEMBERS", 65_535)
    read, _ = read_all([many])
    assert read[str(many)].startswith("it lists 65,536 files")


def test_a_file_named_zip_that_is_not_one_says_so(tmp_path):
    fake = tmp_path / "export.zip"
    fake.write_bytes(jpeg_bytes(Image.open(kodak(5))))
    read, _ = read_all([fake])
    assert read[str(fake)].startswith("not a ZIP archive, or a damaged one")
