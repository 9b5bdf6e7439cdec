"""Looking for her: what the extension's patrol looked at on each network, what stopped it,
and what was found while it looked.

The extension says when it starts and ends each look (one search, or one watch-list profile,
on one network); the server stamps both with its own clock. What was found is never told by
the extension: it is what the proxy saw on that network between the two stamps (the alerts
whose sightings fall in the window, the watch-list accounts seen in it), read from the store
when asked. So a sighting says it was found while looking for her only when it was seen on
the network the patrol tab was on, while it was on it (`found_while`).

Part of the store (`Store` inherits it): the same connection, the same thread.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlite_utils

from sentinelle.server.store.schema import StoreError, inserted, written

# What the extension may say stopped a look (extension/js/patrol.js OUTCOMES).
OUTCOMES = ("done", "bound", "login", "challenge", "unreachable", "timeout", "interrupted")
# The outcomes that stop the whole network for the day: the parent is told.
STOPPING = ("login", "challenge", "unreachable", "timeout", "interrupted")
WHATS = ("search", "profile")
# A look the extension never ended (the browser closed mid-way) counts as this long, no longer:
# longer than the extension's own bound on one page (patrol.js SECONDS_PER_PAGE), so that
# nothing it found is left out, and short enough that later browsing is not taken for it.
UNENDED_LOOK = timedelta(seconds=90)
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,300}")
_RUN = re.compile(r"[A-Za-z0-9_-]{8,64}")


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def look_fields(body: object, platforms) -> dict:
    """A look's fields from what the extension sent; ValueError says what is wrong."""
    if not isinstance(body, dict):
        raise ValueError('send {"run", "platform", "what", "term", "url"}')
    run, platform, what, term, url = (body.get(k) for k in ("run", "platform", "what", "term", "url"))
    if not isinstance(run, str) or not _RUN.fullmatch(run):
        raise ValueError("run: the patrol's id, 8 to 64 letters, digits, - or _")
    if platform not in platforms:
        raise ValueError(f"platform: one of {', '.join(platforms)}")
    if what not in WHATS:
        raise ValueError(f"what: one of {', '.join(WHATS)}")
    if not isinstance(term, str) or not _TEXT.fullmatch(term):
        raise ValueError("term: the name, handle or account looked for")
    if not isinstance(url, str) or len(url) > 2000 or urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
        raise ValueError("url: the https address the patrol opened")
    child = body.get("child")
    if child is not None and (not isinstance(child, str) or not _TEXT.fullmatch(child)):
        raise ValueError("child: her name")
    return {"run": run, "platform": platform, "what": what, "term": term, "url": url, "child": child}


class Patrols:
    """The store's record of the patrol's looks."""

    _db: sqlite_utils.Database

    def start_look(self, fields: dict) -> dict:
        """The extension opens a look (look_fields): stamped now."""
        with self._db.atomic():
            look_id = inserted(self._db.table("patrol").insert(fields | {"started_at": _stamp(_now())}))
        return written(self.look(look_id))

    def end_look(self, look_id: int, outcome: object, scrolls: int = 0, requests: int = 0) -> dict:
        """The extension closes a look, saying what stopped it (`outcome`: as it sent it, one of
        OUTCOMES or StoreError); stamped now. A look ends once."""
        if outcome not in OUTCOMES:
            raise StoreError(f"outcome: one of {', '.join(OUTCOMES)}")
        with self._db.atomic():
            changed = self._db.execute(
                "UPDATE patrol SET ended_at = ?, outcome = ?, scrolls = ?, requests = ?"
                " WHERE id = ? AND ended_at IS NULL",
                [_stamp(_now()), outcome, scrolls, requests, look_id]).rowcount
        if not changed:
            raise StoreError(f"no open look {look_id}")
        return written(self.look(look_id))

    def look(self, look_id: int) -> dict | None:
        rows = list(self._db.query("SELECT * FROM patrol WHERE id = ?", [look_id]))
        return rows[0] if rows else None

    def patrol(self) -> list[dict]:
        """Each network's last patrol: when, what it looked at (each look and its outcome),
        what stopped it (None when nothing did) and what was found meanwhile. Networks never
        looked at are not listed."""
        networks = []
        for platform, run in self._db.execute(
            "SELECT platform, run FROM patrol WHERE id IN (SELECT max(id) FROM patrol GROUP BY platform)"
            " ORDER BY platform"
        ).fetchall():
            looks = list(self._db.query(
                "SELECT id, what, term, child, url, started_at, ended_at, outcome, scrolls, requests"
                " FROM patrol WHERE platform = ? AND run = ? ORDER BY id", [platform, run]))
            stopped = next((look["outcome"] for look in looks if look["outcome"] in STOPPING), None)
            networks.append({
                "platform": platform, "run": run, "looked_at": looks[0]["started_at"],
                "ended_at": max((look["ended_at"] or look["started_at"]) for look in looks),
                "looks": looks, "stopped": stopped, "found": self._found(platform, looks),
            })
        return networks

    def found_while(self, platform: str, seen_at: str, page_url: str | None) -> dict | None:
        """The look during which a sighting on `platform` at `seen_at` was made, if any: the
        patrol tab was on that network then (and the page the image was shown on, when the
        browser said, is on the host the look opened)."""
        for look in self._db.query(
            "SELECT id, run, what, term, child, url, started_at, ended_at FROM patrol"
            " WHERE platform = ? AND started_at <= ? ORDER BY id DESC LIMIT 20", [platform, seen_at]):
            if seen_at <= _end_of(look) and _same_host(page_url, look["url"]):
                return look
        return None

    def _found(self, platform: str, looks: list[dict]) -> dict:
        """What the proxy saw on `platform` during `looks`: alerts (by id) and watch-list accounts."""
        alerts: set[int] = set()
        watched: list[str] = []
        for look in looks:
            window = [platform, look["started_at"], _end_of(look)]
            for alert_id, page_url in self._db.execute(
                "SELECT alert_id, page_url FROM sightings WHERE platform = ? AND seen_at BETWEEN ? AND ?", window):
                if _same_host(page_url, look["url"]):
                    alerts.add(alert_id)
            for (handle,) in self._db.execute(
                "SELECT handle FROM watchlist WHERE platform = ? AND last_seen BETWEEN ? AND ?", window):
                if handle not in watched:
                    watched.append(handle)
        found = [self._db.execute("SELECT id, kind, account, child FROM alerts WHERE id = ?", [i]).fetchone()
                 for i in sorted(alerts)]
        return {"alerts": [{"id": i, "kind": kind or "copy", "account": account, "child": child}
                           for i, kind, account, child in found if i is not None],
                "watch": watched}


def _end_of(look: dict) -> str:
    if look["ended_at"]:
        return look["ended_at"]
    return _stamp(datetime.fromisoformat(look["started_at"]) + UNENDED_LOOK)


def _same_host(page_url: str | None, look_url: str) -> bool:
    """An image shown on no page the browser named (no Referer), or on the look's host: images
    of a cross-origin CDN carry the page's origin only, by the browsers' default referrer policy."""
    if not page_url:
        return True
    return (urlsplit(page_url).hostname or "") == (urlsplit(look_url).hostname or "")
