"""The watch list: accounts whose names look like a child's, and the alerts they raise.

Two tiers, so that a parent is not drowned. An account that looks like her *and* shows one
of her photos (a post, or its profile picture) turns that photo's alert into an
**impersonation** alert, whichever was seen first. An account that only looks like her goes
to the watch list, without a notification: the parent opens it, dismisses it, or marks it
as impersonation. A dismissed account never makes an impersonation alert again.

Part of the store (`Store` inherits it): the same connection, the same thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from sentinelle.proxy.feeds.lookalikes import Lookalike
from sentinelle.server.store.schema import StoreError, inserted, now, written

WATCH_STATUSES = ("open", "dismissed", "impersonation")
COPY, IMPERSONATION = "copy", "impersonation"


class WatchList:
    """The store's watch list and the impersonation tier of its alerts."""

    _db: sqlite_utils.Database
    _join_case: Callable[..., None]  # server/store/cases.py: a new account joins its case

    def record_lookalike(self, lookalike: Lookalike) -> tuple[dict, bool, list[int]]:
        """Note an account that looks like a child's. Returns (its watch-list entry, whether
        it is new, the alerts that became impersonation alerts because of it)."""
        seen_at = (lookalike.seen_at or datetime.now(UTC)).isoformat(timespec="milliseconds")
        resemblance = lookalike.resemblance
        with self._db.atomic():
            row = self._db.execute(
                "SELECT id FROM watchlist WHERE platform = ? AND handle = ? COLLATE NOCASE",
                [lookalike.platform, lookalike.handle],
            ).fetchone()
            if row is None:
                entry_id = inserted(self._db.table("watchlist").insert({
                    "child": resemblance.child, "platform": lookalike.platform,
                    "handle": lookalike.handle, "display_name": lookalike.display_name,
                    "profile_url": lookalike.profile_url, "field": resemblance.field,
                    "what": resemblance.what, "first_seen": seen_at, "last_seen": seen_at,
                    "count": 1, "status": "open", "status_changed_at": seen_at,
                    "feed_url": lookalike.feed_url, "record": lookalike.record,
                }))
                self._join_case("watchlist", entry_id, resemblance.child, lookalike.platform, lookalike.handle, seen_at)
            else:
                entry_id = row[0]
                self._db.execute(
                    "UPDATE watchlist SET last_seen = max(last_seen, ?), count = count + 1,"
                    " display_name = coalesce(?, display_name), profile_url = coalesce(?, profile_url),"
                    " feed_url = ?, record = ? WHERE id = ?",
                    [seen_at, lookalike.display_name, lookalike.profile_url, lookalike.feed_url,
                     lookalike.record, entry_id],
                )
            upgraded = self._impersonations_by(entry_id)
        return written(self.watch_entry(entry_id)), row is None, upgraded

    def watchlist(self, status: str | None = None) -> list[dict]:
        """Watch-list entries, latest seen first; only those with `status` when given."""
        if status is not None:
            _check_watch_status(status)
            return list(self._db.query(_WATCH_SQL + " WHERE status = ? ORDER BY last_seen DESC, id DESC", [status]))
        return list(self._db.query(_WATCH_SQL + " ORDER BY last_seen DESC, id DESC"))

    def watch_entry(self, entry_id: int) -> dict | None:
        rows = list(self._db.query(_WATCH_SQL + " WHERE id = ?", [entry_id]))
        return rows[0] if rows else None

    def watch_entry_of(self, platform: str, handle: str) -> dict | None:
        """The watch-list entry of an account, if it is on the list."""
        rows = list(self._db.query(_WATCH_SQL + " WHERE platform = ? AND handle = ? COLLATE NOCASE", [platform, handle]))
        return rows[0] if rows else None

    def set_watch_status(self, entry_id: int, status: str) -> dict:
        """Open, dismiss, or mark an account as impersonation. Dismissing it turns its
        impersonation alerts back into copies; marking it turns its copies into impersonations."""
        _check_watch_status(status)
        with self._db.atomic():
            changed = self._db.execute(
                "UPDATE watchlist SET status = ?, status_changed_at = ? WHERE id = ?", [status, now(), entry_id],
            ).rowcount
            if not changed:
                raise StoreError(f"no watch-list entry {entry_id}")
            if status == "dismissed":
                entry = written(self.watch_entry(entry_id))
                self._db.execute(
                    "UPDATE alerts SET kind = ?, resemblance = NULL WHERE platform = ?"
                    " AND account = ? COLLATE NOCASE AND kind = ?",
                    [COPY, entry["platform"], entry["handle"], IMPERSONATION],
                )
            else:
                self._impersonations_by(entry_id)
        return written(self.watch_entry(entry_id))

    def impersonation_of(self, alert_id: int) -> None:
        """Make an alert an impersonation alert if its account is on the watch list for the
        child whose photo it shows (and not dismissed)."""
        row = self._db.execute(
            "SELECT watchlist.id FROM alerts JOIN watchlist ON watchlist.platform = alerts.platform"
            " AND watchlist.handle = alerts.account COLLATE NOCASE"
            " WHERE alerts.id = ? AND watchlist.status != 'dismissed'"
            " AND (alerts.child IS NULL OR alerts.child = watchlist.child)", [alert_id],
        ).fetchone()
        if row is not None:
            self._impersonations_by(row[0])

    def _impersonations_by(self, entry_id: int) -> list[int]:
        """Turn the copy alerts of a watched account that show its child's photos into
        impersonation alerts. Returns their ids; the entry is then marked impersonation."""
        entry = self.watch_entry(entry_id)
        if entry is None or entry["status"] == "dismissed":
            return []
        resemblance = json.dumps({"child": entry["child"], "field": entry["field"], "what": entry["what"]},
                                 ensure_ascii=False)
        ids = [row[0] for row in self._db.execute(
            "SELECT id FROM alerts WHERE platform = ? AND account = ? COLLATE NOCASE"
            " AND coalesce(kind, 'copy') = ? AND (child IS NULL OR child = ?)",
            [entry["platform"], entry["handle"], COPY, entry["child"]],
        )]
        for alert_id in ids:
            self._db.execute(
                "UPDATE alerts SET kind = ?, resemblance = ?, display_name = coalesce(display_name, ?) WHERE id = ?",
                [IMPERSONATION, resemblance, entry["display_name"], alert_id],
            )
        if ids and entry["status"] == "open":
            self._db.execute("UPDATE watchlist SET status = ?, status_changed_at = ? WHERE id = ?",
                            ["impersonation", now(), entry_id])
        return ids


def _check_watch_status(status: str) -> None:
    if status not in WATCH_STATUSES:
        raise StoreError(f"unknown watch-list status {status!r}: use one of {', '.join(WATCH_STATUSES)}")


_WATCH_SQL = """
SELECT watchlist.*, (SELECT count(*) FROM alerts WHERE alerts.platform = watchlist.platform
       AND alerts.account = watchlist.handle COLLATE NOCASE AND alerts.kind = 'impersonation') AS alerts
FROM watchlist"""
