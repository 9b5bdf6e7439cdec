"""The store: the only module that speaks SQL. Protected photos, alerts and their evidence.

One SQLite file (WAL mode, through sqlite-utils) in the data dir, and the evidence bytes
as files beside it, named by their SHA-256. An evidence file is complete on disk before
the row that names it is committed, so a crash can never leave a row pointing at half a file.
Sightings are append-only: a status change touches the alert, never its evidence. The
tables and the steps that bring an older database to them are in `schema`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from sentinelle.proxy.feeds.attribution import AccountNamed
from sentinelle.proxy.feeds.image_keys import image_key
from sentinelle.proxy.files import write_atomically
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.store.cases import Cases
from sentinelle.server.store.child_names import Meant, same_name, tidy, which_child
from sentinelle.server.store.outbox import Outbox
from sentinelle.server.store.patrol import Patrols
from sentinelle.server.store.schema import (
    FIRST_POSTER,
    StoreError,
    bump_photos_revision,
    inserted,
    merge_child,
    migrate,
    rename_child,
    written,
)
from sentinelle.server.store.watchlist import WatchList

if TYPE_CHECKING:  # the matching engine is loaded only by what compares images
    from sentinelle.proxy.engine.fingerprint import Fingerprint

STATUSES = ("new", "seen", "reported", "resolved", "false_alarm")

_EXTENSIONS = {
    "image/jpeg": ".jpg", "image/pjpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
    "image/gif": ".gif", "image/avif": ".avif", "image/heic": ".heic", "image/heif": ".heif",
}


# Evidence is written under this prefix, then renamed to its final name once complete.
_INCOMING = ".incoming-"


@dataclass(frozen=True)
class NewPhoto:
    """A photo ready to be protected: its fingerprints and what the review page shows of it."""

    sha256: str
    name: str  # the file's original name
    child: str | None
    width: int
    height: int
    thumbnail: bytes  # a small JPEG
    views: list[tuple[str, Fingerprint]]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _first_poster(attribution) -> dict[str, str | None]:
    if attribution is None:
        return dict.fromkeys(FIRST_POSTER)
    return {column: getattr(attribution, column) for column in FIRST_POSTER}


def _owner_only(database: Path) -> None:
    """The database file, and the -wal and -shm beside it, readable by their owner alone
    (0600), whatever the umask: SQLite makes the database 0644 and gives the other two the
    database's mode, and they hold the alerts and the photos' fingerprints. A data dir of an
    older Sentinelle has its files made private here too."""
    database.touch(mode=0o600, exist_ok=True)
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)


class Store(WatchList, Cases, Outbox, Patrols):
    """Sentinelle's database and evidence folder (and the watch list: server/store/watchlist.py;
    cases, reports, takedowns and returns: server/store/cases.py; the parent's channels and what
    is due to them: server/store/outbox.py; the patrol's looks: server/store/patrol.py)."""

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        """Open (and bring up to date) the store of `data_dir`; `read_only`: a connection that can
        only read, for a database another connection keeps up to date (server/store/door.py)."""
        self.evidence_dir = data_dir / "evidence"
        if not read_only:
            self.evidence_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._discard_abandoned_evidence()
            _owner_only(data_dir / "sentinelle.db")
        self._db = sqlite_utils.Database(data_dir / "sentinelle.db")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if read_only:
            self._db.execute("PRAGMA query_only = ON")
            return
        self._db.enable_wal()
        self._db.execute("PRAGMA foreign_keys = ON")
        migrate(self._db)

    def close(self) -> None:
        self._db.close()

    # -- protected photos -------------------------------------------------------

    def add_photo(self, photo: NewPhoto) -> tuple[dict, bool]:
        """Protect a photo; the same bytes twice is a no-op. Returns (photo, newly added)."""
        if existing := self.photo_by_sha256(photo.sha256):
            return existing, False
        with self._db.atomic():
            child_id = self._child_id(photo.child) if photo.child else None
            photo_id = inserted(self._db.table("photos").insert(
                {
                    "sha256": photo.sha256, "name": photo.name, "child_id": child_id,
                    "width": photo.width, "height": photo.height,
                    "thumbnail": photo.thumbnail, "enrolled_at": now(),
                }
            ))
            self._db.table("fingerprints").insert_all(
                {"photo_id": photo_id, "view": view, "data": fp.to_bytes()}
                for view, fp in photo.views
            )
            bump_photos_revision(self._db)
        return written(self.photo(photo_id)), True

    def photos(self) -> list[dict]:
        return list(self._db.query(_PHOTOS_SQL + " ORDER BY photos.id"))

    def photo(self, photo_id: int) -> dict | None:
        rows = list(self._db.query(_PHOTOS_SQL + " WHERE photos.id = ?", [photo_id]))
        return rows[0] if rows else None

    def photo_by_sha256(self, sha256: str) -> dict | None:
        rows = list(self._db.query(_PHOTOS_SQL + " WHERE photos.sha256 = ?", [sha256]))
        return rows[0] if rows else None

    def find_photos(self, ref: str) -> list[dict]:
        """Photos a parent may mean by `ref`: an id, or an original file name."""
        if ref.isdigit() and (photo := self.photo(int(ref))):
            return [photo]
        return list(self._db.query(_PHOTOS_SQL + " WHERE photos.name = ?", [ref]))

    def forget_photo(self, photo_id: int) -> None:
        """Stop protecting a photo and delete what was kept of it. Its alerts stay, with its name."""
        with self._db.atomic():
            self._db.execute("DELETE FROM fingerprints WHERE photo_id = ?", [photo_id])
            self._db.execute("DELETE FROM photos WHERE id = ?", [photo_id])
            bump_photos_revision(self._db)

    def photo_thumbnail(self, photo_id: int) -> bytes | None:
        row = self._db.execute("SELECT thumbnail FROM photos WHERE id = ?", [photo_id]).fetchone()
        return row[0] if row else None

    def fingerprints(self, photo_ids: Sequence[int] | None = None) -> Iterator[tuple[int, str, Fingerprint]]:
        """Every enrolled view (of the photos `photo_ids`, if given), for the matcher: matching never
        re-reads the original files."""
        where, args = "", []
        if photo_ids is not None:
            args = [int(i) for i in photo_ids]
            where = f" WHERE photo_id IN ({', '.join('?' * len(args))})" if args else " WHERE 0"
        for photo_id, view, data in self._db.execute(
            f"SELECT photo_id, view, data FROM fingerprints{where} ORDER BY id", args
        ):
            yield photo_id, view, _fingerprint(data)

    def photo_keys(self) -> list[tuple[int, bytes]]:
        """(id, SHA-256 of its bytes) of every protected photo: what the index knows a photo by (an
        id the database gives again later names another photo)."""
        return [(photo_id, bytes.fromhex(sha256)) for photo_id, sha256 in
                self._db.execute("SELECT id, sha256 FROM photos ORDER BY id")]

    def photos_revision(self) -> int:
        """A number that changes whenever the protected set does, from any process."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'photos_revision'").fetchone()
        return int(row[0]) if row else 0

    # -- alerts and evidence ----------------------------------------------------

    def record_sighting(self, sighting: Sighting) -> tuple[dict, bool]:
        """Keep a sighting and its evidence. Returns (its alert, whether the alert is new).

        Sightings of one photo posted by the same account group into one alert; when no
        feed named the account, sightings of the same image do (a feed scrolled twice does
        not alert twice). A new account posting the photo is a new alert.
        """
        evidence_file = self._write_evidence(sighting)
        photo = self.photo(sighting.match.photo_id) or {}
        seen_at = sighting.seen_at.isoformat(timespec="milliseconds")
        key = image_key(sighting.image_url)
        attribution = sighting.attribution
        account = attribution.account if attribution else None
        account_id = attribution.account_id if attribution else None
        expires_at = attribution.expires_at if attribution else None
        first = _first_poster(attribution)
        with self._db.atomic():
            if (row := self._db.execute(  # written already: a retry after a failure that came late
                "SELECT alert_id FROM sightings WHERE image_key = ? AND seen_at = ? AND image_url = ?"
                " AND evidence_sha256 = ?", [key, seen_at, sighting.image_url, sighting.sha256],
            ).fetchone()):
                return written(self.alert(row[0])), False
            alert_id = self._alert_for(sighting.match.photo_id, sighting.platform, account, key, first["shown_as"],
                                       account_id)
            is_new = alert_id is None
            if alert_id is None:
                alert_id = inserted(self._db.table("alerts").insert(
                    {
                        "photo_id": sighting.match.photo_id, "photo_name": photo.get("name"),
                        "child": photo.get("child"), "image_key": key,
                        "image_url": sighting.image_url, "page_url": sighting.page_url,
                        "host": sighting.host, "platform": sighting.platform,
                        "score": sighting.match.score, "first_seen": seen_at,
                        "last_seen": seen_at, "count": 1, "status": "new",
                        "status_changed_at": seen_at, "account": account,
                        "account_url": attribution.account_url if attribution else None,
                        "post_url": attribution.post_url if attribution else None,
                        "display_name": attribution.display_name if attribution else None,
                        "kind": "copy", "account_id": account_id, "expires_at": expires_at, **first,
                    }
                ))
            else:
                self._db.execute(
                    "UPDATE alerts SET count = count + 1, last_seen = ?, score = max(score, ?),"
                    " page_url = coalesce(?, page_url) WHERE id = ?",
                    [seen_at, sighting.match.score, sighting.page_url, alert_id],
                )
                if attribution is not None:  # an image first seen unattributed now has its account
                    self._db.execute(
                        "UPDATE alerts SET account = coalesce(account, ?),"
                        " account_url = coalesce(account_url, ?), post_url = coalesce(post_url, ?),"
                        " display_name = coalesce(display_name, ?),"
                        " shown_as = coalesce(shown_as, ?), repost = coalesce(repost, ?),"
                        " first_account = coalesce(first_account, ?),"
                        " first_account_url = coalesce(first_account_url, ?),"
                        " first_post_url = coalesce(first_post_url, ?), account_id = coalesce(account_id, ?),"
                        " expires_at = coalesce(max(expires_at, ?), ?, expires_at) WHERE id = ?",
                        [account, attribution.account_url, attribution.post_url, attribution.display_name,
                         *(first[c] for c in FIRST_POSTER), account_id, expires_at, expires_at, alert_id],
                    )
            self._db.table("sightings").insert(
                {
                    "alert_id": alert_id, "seen_at": seen_at, "image_url": sighting.image_url,
                    "page_url": sighting.page_url, "host": sighting.host,
                    "platform": sighting.platform, "content_type": sighting.content_type,
                    "score": sighting.match.score, "view": sighting.match.view,
                    "evidence_sha256": sighting.sha256, "evidence_file": evidence_file,
                    "evidence_bytes": len(sighting.body), "image_key": key,
                    "response_headers": json.dumps(dict(sighting.response_headers)),
                    "account": account, "account_id": account_id,
                    "post_url": attribution.post_url if attribution else None,
                    "shown_as": first["shown_as"], "first_account": first["first_account"],
                    "attribution": json.dumps(attribution.as_dict(), ensure_ascii=False)
                    if attribution else None,
                    "region": json.dumps([[round(x, 1), round(y, 1)] for x, y in sighting.match.region])
                    if sighting.match.region else None,
                }
            )
            if is_new:
                self._join_case("alerts", alert_id, photo.get("child"), sighting.platform, account, seen_at,
                                sighting.match.photo_id)
            if account is not None:
                self.impersonation_of(alert_id)
        return written(self.alert(alert_id)), is_new

    def _alert_for(self, photo_id: int, platform: str, account: str | None, key: str,
                   shown_as: str | None = None, account_id: str | None = None) -> int | None:
        """The alert a sighting belongs to: its account's, by handle or by id (a post, a story,
        or the account's profile picture: each its alert), else its image's; None for a new one."""
        if account is not None or account_id is not None:
            row = self._db.execute(
                "SELECT id FROM alerts WHERE photo_id = ? AND platform = ?"
                " AND (account = ? OR (? IS NOT NULL AND account_id = ? AND (account IS NULL OR ? IS NULL)))"
                " AND coalesce(shown_as, 'post') = coalesce(?, 'post') ORDER BY id LIMIT 1",
                [photo_id, platform, account, account_id, account_id, account, shown_as],
            ).fetchone()
            if row:
                return row[0]
        # The same image seen before: its alert, if it has no account or this one.
        row = self._db.execute(
            "SELECT alerts.id FROM alerts JOIN sightings ON sightings.alert_id = alerts.id"
            " WHERE alerts.photo_id = ? AND sightings.image_key = ?"
            " AND (? IS NULL OR alerts.account IS NULL OR alerts.account = ?)"
            " ORDER BY alerts.id LIMIT 1", [photo_id, key, account, account],
        ).fetchone()
        return row[0] if row else None

    def name_account(self, named: AccountNamed) -> list[int]:
        """A feed tied an account's id to its handle: the alerts that knew the account by that id
        alone now name it (and may be impersonations). Returns their ids; sightings, evidence,
        keep what was known when they were seen."""
        with self._db.atomic():
            ids = [row[0] for row in self._db.execute(
                "SELECT id FROM alerts WHERE platform = ? AND account_id = ? AND account IS NULL",
                [named.platform, named.account_id])]
            for alert_id in ids:
                self._db.execute(
                    "UPDATE alerts SET account = ?, account_url = coalesce(account_url, ?),"
                    " display_name = coalesce(display_name, ?) WHERE id = ?",
                    [named.account, named.account_url, named.display_name, alert_id])
                self.impersonation_of(alert_id)
        return ids

    def unnamed_accounts(self) -> list[tuple[str, str]]:
        """(platform, account id) of the accounts alerts know by their id alone, waiting for a handle."""
        return [tuple(row) for row in self._db.execute(
            "SELECT DISTINCT platform, account_id FROM alerts WHERE account IS NULL AND account_id IS NOT NULL")]

    def counts(self) -> dict[str, int]:
        """How many photos are protected and how many alerts there are, counted by SQLite."""
        photos, alerts = self._db.execute(
            "SELECT (SELECT count(*) FROM photos), (SELECT count(*) FROM alerts)").fetchone()
        return {"photos": photos, "alerts": alerts}

    def alerts_of_account(self, account: str) -> list[dict]:
        """The alerts of an account (any platform; a leading "@" is ignored), oldest first."""
        return _alerts(self._db.query(
            _ALERTS_SQL + " WHERE account = ? COLLATE NOCASE ORDER BY id", [account.lstrip("@")]
        ))

    def alerts(self, status: str | None = None) -> list[dict]:
        """Alerts, newest sighting first; only those with `status` when given."""
        if status is not None:
            _check_status(status)
            return _alerts(self._db.query(
                _ALERTS_SQL + " WHERE status = ? ORDER BY last_seen DESC, id DESC", [status]
            ))
        return _alerts(self._db.query(_ALERTS_SQL + " ORDER BY last_seen DESC, id DESC"))

    def alert(self, alert_id: int) -> dict | None:
        rows = _alerts(self._db.query(_ALERTS_SQL + " WHERE id = ?", [alert_id]))
        return rows[0] if rows else None

    def sightings(self, alert_id: int) -> list[dict]:
        """An alert's sightings, oldest first; response headers and feed record decoded from JSON,
        and `found_while`: the patrol's look it was made during, if any (server/store/patrol.py)."""
        rows = list(self._db.query(
            "SELECT * FROM sightings WHERE alert_id = ? ORDER BY id", [alert_id]
        ))
        for row in rows:
            for column in ("response_headers", "attribution", "region"):
                if isinstance(row.get(column), str):
                    row[column] = json.loads(row[column])
            row["found_while"] = self.found_while(row["platform"], row["seen_at"], row["page_url"])
        return rows

    def set_status(self, alert_id: int, status: str) -> dict:
        _check_status(status)
        with self._db.atomic():
            changed = self._db.execute(
                "UPDATE alerts SET status = ?, status_changed_at = ? WHERE id = ?",
                [status, now(), alert_id],
            ).rowcount
        if not changed:
            raise StoreError(f"no alert {alert_id}")
        return written(self.alert(alert_id))

    def latest_evidence(self, alert_id: int) -> tuple[Path, str] | None:
        """The newest evidence file of an alert and its content type."""
        row = self._db.execute(
            "SELECT evidence_file, content_type FROM sightings WHERE alert_id = ?"
            " ORDER BY id DESC LIMIT 1",
            [alert_id],
        ).fetchone()
        return (self.evidence_dir / row[0], row[1]) if row else None

    # -- private ---------------------------------------------------------------

    def _write_evidence(self, sighting: Sighting) -> str:
        media_type = sighting.content_type.split(";", 1)[0].strip().lower()
        name = sighting.sha256 + _EXTENSIONS.get(media_type, ".bin")
        path = self.evidence_dir / name
        if not path.exists():
            write_atomically(path, sighting.body, prefix=_INCOMING)
        return name

    def _discard_abandoned_evidence(self) -> None:
        # Half-written by a process that was killed. Never referenced by a row; an hour old,
        # so not the one a running Sentinelle is writing right now.
        cutoff = time.time() - 3600
        for leftover in self.evidence_dir.glob(_INCOMING + "*"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    # -- children: names and handles ------------------------------------------------
    # One child, one name (child_names.py): however the parent types a name, it means the
    # child it names; a full name gives a child known by her first name alone her full name.

    def meant_child(self, name: str) -> Meant:
        """The child `name` means, and the name she goes by from now on; StoreError when a
        first name could mean several children."""
        meant = which_child(name, (row[0] for row in self._db.execute("SELECT name FROM children")))
        if meant.ambiguous:
            raise StoreError(f"{meant.typed!r} could be {' or '.join(meant.ambiguous)}: give her full name")
        return meant

    def set_child(self, name: str, aliases: list[str] | None = None,
                  handles: list[tuple[str, str]] | None = None) -> tuple[dict, Meant]:
        """Create or update the child `name` means; aliases or handles given replace hers,
        those not given stay. Returns her, and whom the name was taken to mean."""
        with self._db.atomic():
            meant = self.meant_child(name)
            child_id = self._child_id(meant.name)
            if aliases is not None:
                self._db.execute("UPDATE children SET aliases = ? WHERE id = ?",
                                [json.dumps(list(dict.fromkeys(aliases)), ensure_ascii=False), child_id])
            if handles is not None:
                self._db.execute("UPDATE children SET handles = ? WHERE id = ?",
                                [json.dumps([list(h) for h in dict.fromkeys(handles)], ensure_ascii=False), child_id])
            bump_photos_revision(self._db)  # the watcher's workers check accounts against her names
        return written(self.child(child_id)), meant

    def rename_child(self, child_id: int, name: str) -> dict:
        """Give a child another name; a name that is another child's makes the two one child,
        under `name`, with both their photos, nicknames and accounts."""
        name = tidy(name)
        with self._db.atomic():
            if self.child(child_id) is None:
                raise StoreError(f"no child {child_id}")
            other = next((row for row in self._db.execute("SELECT id, name FROM children WHERE id != ?", [child_id])
                          if same_name(row[1]) == same_name(name)), None)
            if other is not None:
                merge_child(self._db, other[0], child_id)
            rename_child(self._db, child_id, name)
            bump_photos_revision(self._db)
        return written(self.child(child_id))

    def remove_child(self, child_id: int) -> dict:
        """Stop watching for a child: her names and accounts go, and her photos are no longer
        protected (what was kept of them is deleted). Her alerts, their evidence and the watch
        list stay, with her name. Returns what was removed: {name, photos, alerts}."""
        with self._db.atomic():
            child = self.child(child_id)
            if child is None:
                raise StoreError(f"no child {child_id}")
            (alerts,) = self._db.execute("SELECT count(*) FROM alerts WHERE child = ?", [child["name"]]).fetchone()
            self._db.execute("DELETE FROM fingerprints WHERE photo_id IN (SELECT id FROM photos WHERE child_id = ?)",
                            [child_id])
            self._db.execute("DELETE FROM photos WHERE child_id = ?", [child_id])
            self._db.execute("DELETE FROM children WHERE id = ?", [child_id])
            bump_photos_revision(self._db)
        return {"name": child["name"], "photos": child["photos"], "alerts": alerts}

    def children(self) -> list[dict]:
        """Every child: her name, nicknames, own accounts and how many of her photos are protected."""
        return [_child_row(row) for row in self._db.query(_CHILDREN_SQL + " GROUP BY children.id ORDER BY children.name")]

    def child(self, child_id: int) -> dict | None:
        rows = list(self._db.query(_CHILDREN_SQL + " WHERE children.id = ? GROUP BY children.id", [child_id]))
        return _child_row(rows[0]) if rows else None

    def _child_id(self, name: str) -> int:
        """The child `name` means (given her full name if she had her first name only), made if new."""
        meant = self.meant_child(name)
        if meant.known is None:
            return inserted(self._db.table("children").insert({"name": meant.name}))
        (child_id,) = self._db.execute("SELECT id FROM children WHERE name = ?", [meant.known]).fetchone()
        if meant.renamed:
            rename_child(self._db, child_id, meant.name)
        return child_id


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")


_PHOTOS_SQL = """
SELECT photos.id, photos.sha256, photos.name, children.name AS child,
       photos.width, photos.height, photos.enrolled_at
FROM photos LEFT JOIN children ON children.id = photos.child_id"""

_CHILDREN_SQL = """
SELECT children.id, children.name, children.aliases, children.handles, count(photos.id) AS photos
FROM children LEFT JOIN photos ON photos.child_id = children.id"""


def _child_row(row: dict) -> dict:
    return row | {"aliases": json.loads(row["aliases"] or "[]"),
                  "handles": [tuple(h) for h in json.loads(row["handles"] or "[]")]}


_ALERTS_SQL = """
SELECT id, photo_id, photo_name, child, image_url, page_url, host, platform, account,
       account_id, account_url, post_url, display_name, expires_at, coalesce(kind, 'copy') AS kind, resemblance,
       coalesce(shown_as, 'post') AS shown_as, repost, first_account,
       first_account_url, first_post_url, score, first_seen, last_seen, count, status,
       status_changed_at, case_id
FROM alerts"""


def _alerts(rows: Iterator[dict]) -> list[dict]:
    """Alert rows as the API shows them: what of the account resembled a child, decoded."""
    return [row | {"resemblance": json.loads(row["resemblance"]) if row["resemblance"] else None} for row in rows]


def _fingerprint(data: bytes) -> Fingerprint:
    from sentinelle.proxy.engine.fingerprint import Fingerprint  # only for the matcher's callers

    return Fingerprint.from_bytes(data)
