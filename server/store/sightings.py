"""Alerts and their evidence: each sighting kept with the bytes the browser received, grouped
into the alert of its account (or of its image), and the alerts' statuses.

The evidence bytes are files beside the database, named by their SHA-256. An evidence file is
complete on disk before the row that names it is committed, so a crash can never leave a row
pointing at half a file. Sightings are append-only: a status change touches the alert, never its
evidence.

Part of the store (`Store` inherits it, server/store/records.py): the same connection, the same thread.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlite_utils

from sentinelle.proxy.feeds.attribution import AccountNamed
from sentinelle.proxy.feeds.image_keys import image_key
from sentinelle.proxy.files import write_atomically
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.store.schema import FIRST_POSTER, StoreError, inserted, now, written

STATUSES = ("new", "seen", "reported", "resolved", "false_alarm")

_EXTENSIONS = {
    "image/jpeg": ".jpg", "image/pjpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
    "image/gif": ".gif", "image/avif": ".avif", "image/heic": ".heic", "image/heif": ".heif",
}


# Evidence is written under this prefix, then renamed to its final name once complete.
_INCOMING = ".incoming-"


def _first_poster(attribution) -> dict[str, str | None]:
    if attribution is None:
        return dict.fromkeys(FIRST_POSTER)
    return {column: getattr(attribution, column) for column in FIRST_POSTER}


class Sightings:
    """The store's alerts and their evidence."""

    _db: sqlite_utils.Database
    evidence_dir: Path
    photo: Callable[[int], dict | None]  # server/store/photos.py
    _join_case: Callable[..., None]  # server/store/cases.py: a new alert joins its case
    impersonation_of: Callable[[int], None]  # server/store/watchlist.py
    found_while: Callable[[str, str, str | None], dict | None]  # server/store/patrol.py

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


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")


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
