"""What a parent points `sentinelle enroll` at, as photos to read one at a time: files, folders, ZIP archives.

A folder is searched recursively, and every file in it is a candidate (what is not a photo is
then skipped, and says so). A ZIP archive (an Instagram or Google Photos/Takeout export) is
read as a folder of its pictures: each member whose name says it is an image
(`IMAGE_SUFFIXES`), shown as `export.zip:path/in/archive.jpg`; the rest (an export's JSON,
HTML and videos) is counted and left alone. Nothing is extracted to disk, so a member's path
(`../`, `/etc/…`) leads nowhere; but an archive can still lie about sizes, deflate gigabytes
out of kilobytes, overlap its members (one compressed block read as thousands of files) or
nest archives. So its directory is sized before Python reads it, its members' compressed
ranges must fit in the file, each member is read with a cap on what it inflates to, and
whatever is refused says why.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

# The largest photo file read from an archive: the API's upload limit.
MAX_MEMBER_BYTES = 50 * 2**20
# Photos are compressed already: deflating one saves a few percent. A member over a megabyte
# that inflates more than this many times its compressed size is not a photo.
MAX_RATIO = 100
# A Google Takeout archive of 50 GB holds a few tens of thousands of files; Python keeps
# about half a kilobyte for each member it lists, so the count is checked before it lists them.
MAX_MEMBERS = 100_000
# What a member's name ends with when it is a picture Sentinelle can read (proxy/engine/images.py).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".heic", ".heif", ".avif"})
# What macOS adds to the archives it makes: each file's attributes, in a "._" file of the same name.
_MAC_METADATA = ("__MACOSX/",)


class Unreadable(Exception):
    """A file, an archive or an archive's member that is not read; `reason` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Candidate:
    """A photo to enrol, not read yet: `source` as shown to the parent (a path, or
    `export.zip:path/in/archive.jpg`), `name` the file name kept with the photo, `read` its
    bytes (raises Unreadable)."""

    source: str
    name: str
    read: Callable[[], bytes]


class Album:
    """Everything `paths` name, as `candidates` (in the order given; each folder's files in name
    order), and how many files inside archives were left alone as not photos (`ignored`).

    Archives stay open until the album is closed (it is a context manager).
    """

    def __init__(self, paths: Iterable[Path]) -> None:
        self.candidates: list[Candidate] = []
        self.ignored = 0
        self._archives = ExitStack()
        for path in files_under(paths):
            source, name = _printable(str(path)), _printable(path.name)
            if path.suffix.lower() != ".zip":
                self.candidates.append(Candidate(source, name, partial(_read_file, path)))
                continue
            try:
                archive = Archive(path)
            except Unreadable as refused:
                self.candidates.append(Candidate(source, name, _refusal(refused.reason)))
                continue
            self._archives.callback(archive.close)
            self.candidates += archive.members
            self.ignored += archive.ignored

    def close(self) -> None:
        self._archives.close()

    def __enter__(self) -> Album:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def files_under(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and every file in the folders named (recursively, in name order)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise Unreadable(f"unreadable ({e.strerror or e})") from None


def _refusal(reason: str) -> Callable[[], bytes]:
    def read() -> bytes:
        raise Unreadable(reason)
    return read


class Archive:
    """An open ZIP archive: its pictures (`members`) and how many other files it holds (`ignored`).

    Raises Unreadable when the file is not a ZIP archive or is refused as a whole. Close it
    once its members have been read.
    """

    def __init__(self, path: Path) -> None:
        try:
            declared = _declared_members(path)
        except OSError as e:
            raise Unreadable(f"unreadable ({e.strerror or e})") from None
        if declared is not None and declared > MAX_MEMBERS:
            raise Unreadable(f"it lists {declared:,} files, more than the {MAX_MEMBERS:,} Sentinelle reads from one archive")
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
            raise Unreadable(f"not a ZIP archive, or a damaged one ({err})") from None
        infos = self._zip.infolist()
        if sum(info.compress_size for info in infos) > path.stat().st_size:
            self._zip.close()
            raise Unreadable("its files overlap one another (a ZIP bomb): not read")
        self.members: list[Candidate] = []
        self.ignored = 0
        for info in infos:
            if info.is_dir() or info.filename.startswith(_MAC_METADATA) or _name(info).startswith("._"):
                continue
            suffix = PurePosixPath(_name(info)).suffix.lower()
            if suffix in IMAGE_SUFFIXES or suffix == ".zip":
                self.members.append(Candidate(_printable(f"{path}:{info.filename}"), _printable(_name(info)),
                                           partial(self._read, info)))
            else:
                self.ignored += 1

    def close(self) -> None:
        self._zip.close()

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        if PurePosixPath(_name(info)).suffix.lower() == ".zip":
            raise Unreadable("an archive inside the archive is not opened: unzip it and enrol its folder")
        if info.flag_bits & 0x1:
            raise Unreadable("encrypted (protected by a password)")
        if info.file_size > MAX_MEMBER_BYTES:
            raise Unreadable(f"larger than {MAX_MEMBER_BYTES // 2**20} MB")
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * info.compress_size:
            raise Unreadable(f"it inflates {info.file_size // max(1, info.compress_size):,} times (a ZIP bomb): not read")
        try:
            with self._zip.open(info) as member:
                # At most the size the archive declares (zipfile stops there), and never more than the cap.
                data = member.read(MAX_MEMBER_BYTES + 1)
        except NotImplementedError:
            raise Unreadable(f"compressed with a method Sentinelle cannot read ({info.compress_type})") from None
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError) as err:
            # A wrong checksum, a broken deflate or LZMA stream, a member cut short.
            raise Unreadable(f"damaged in the archive ({type(err).__name__}: {err})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise Unreadable(f"larger than {MAX_MEMBER_BYTES // 2**20} MB")
        return data


def _printable(name: str) -> str:
    """`name` with its control characters escaped: a file name cannot rewrite the parent's terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def _name(info: zipfile.ZipInfo) -> str:
    """The member's file name, without its folders (archives made on Windows may separate them with "\\")."""
    return info.filename.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _declared_members(path: Path) -> int | None:
    """How many members the archive's end record declares, read before Python lists them (None
    when there is no end record: zipfile then says what is wrong)."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - (22 + 65535)))  # the end record, and a comment of at most 64 KB
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            return None
        count = int.from_bytes(tail[at + 10 : at + 12], "little")
        locator = at - 20
        if count != 0xFFFF or locator < 0 or tail[locator : locator + 4] != b"PK\x06\x07":
            return count
        # ZIP64: the count is in another record, where the locator says.
        f.seek(int.from_bytes(tail[locator + 8 : locator + 16], "little"))
        record = f.read(56)
        return int.from_bytes(record[32:40], "little") if record[:4] == b"PK\x06\x06" else count
