"""Cases: the whole story against a child, kept together: her alerts and the accounts on the
watch list, the parent's reports, and what each account became (taken down, or back as another).

Every alert and watch-list account belongs to a case: its account's, if that account is in one
already, else her child's first case (one per child to begin with; the parent can move an alert
or an account to another case, or to a new one: a split). A report names an alert or an
account, and is kept with its channel, the reference the channel gave and its date. A takedown
is the network's answer that a reported account is gone, kept with the page as evidence; a
return is a new account, in a case where one was taken down, that shows a photo already seen
in the case, or whose name looks like hers as a taken-down one's did. Account events are
append-only, as sightings are.

Part of the store (`Store` inherits it): the same connection, the same thread.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import sqlite_utils

from sentinelle.proxy.feeds.gone import Gone
from sentinelle.proxy.files import write_atomically
from sentinelle.server.store.child_names import Meant
from sentinelle.server.store.schema import StoreError, inserted, now, written

TAKEN_DOWN, RETURNED = "taken_down", "returned"
# Where a parent may have reported: the platform's own form first; any other name is kept as typed.
CHANNELS = ("platform", "pharos", "police", "school", "3018", "ncmec", "other")
_PAGE_EXTENSIONS = {"text/html": ".html", "application/json": ".json", "text/plain": ".txt"}
_ALERT_REF = re.compile(r"^#?(\d{1,18})$")


class Cases:
    """The store's cases, reports, takedowns and returns."""

    _db: sqlite_utils.Database
    evidence_dir: Path
    # server/store/children.py and sightings.py: the children and the alerts
    meant_child: Callable[[str], Meant]
    alert: Callable[[int], dict | None]
    alerts: Callable[..., list[dict]]
    sightings: Callable[[int], list[dict]]

    # -- membership --------------------------------------------------------------------

    def _case_for(self, child: str | None, platform: str | None, handle: str | None) -> int:
        """The case a new alert or account joins: its account's, else its child's first (made if new)."""
        if handle:
            row = self._db.execute(
                "SELECT case_id FROM alerts WHERE platform = ? AND account = ? COLLATE NOCASE AND case_id IS NOT NULL"
                " UNION ALL SELECT case_id FROM watchlist WHERE platform = ? AND handle = ? COLLATE NOCASE"
                " AND case_id IS NOT NULL LIMIT 1", [platform, handle, platform, handle]).fetchone()
            if row:
                return row[0]
        row = self._db.execute("SELECT id FROM cases WHERE child IS ? ORDER BY id LIMIT 1", [child]).fetchone()
        return row[0] if row else inserted(self._db.table("cases").insert({"child": child, "created_at": now()}))

    def _join_case(self, table: str, row_id: int, child: str | None, platform: str | None,
                   handle: str | None, seen_at: str, photo_id: int | None = None) -> None:
        """Put a new alert or watch-list entry in its case, and note it as a return if it is one."""
        case_id = self._case_for(child, platform, handle)
        self._db.execute(f"UPDATE {table} SET case_id = ? WHERE id = ?", [case_id, row_id])
        if handle:
            self._note_return(case_id, platform, handle, seen_at, photo_id)

    def cases(self) -> list[dict]:
        """Every case, oldest first, with how many alerts and accounts it holds."""
        return list(self._db.query(
            "SELECT cases.*, (SELECT count(*) FROM alerts WHERE case_id = cases.id) AS alerts,"
            " (SELECT count(*) FROM watchlist WHERE case_id = cases.id) AS watched FROM cases ORDER BY id"))

    def case(self, case_id: int) -> dict | None:
        return next((c for c in self.cases() if c["id"] == case_id), None)

    def cases_of(self, child: str) -> list[dict]:
        """The cases of the child `child` means (her full name, or her first name alone)."""
        name = self.meant_child(child).known or child
        found = [c for c in self.cases() if (c["child"] or "").casefold() == name.casefold()]
        if not found:
            raise StoreError(f"no case for {child!r}: see `sentinelle case`")
        return found

    def new_case(self, child: str | None, title: str | None = None) -> dict:
        case_id = inserted(self._db.table("cases").insert({"child": child, "title": title, "created_at": now()}))
        return written(self.case(case_id))

    def move_alert(self, alert_id: int, case_id: int | None = None) -> dict:
        """Move an alert to case `case_id`, or to a new case of its child (a split). Returns its case."""
        with self._db.atomic():
            row = self._db.execute("SELECT child FROM alerts WHERE id = ?", [alert_id]).fetchone()
            if row is None:
                raise StoreError(f"no alert {alert_id}")
            if case_id is None:
                case_id = inserted(self._db.table("cases").insert({"child": row[0], "created_at": now()}))
            elif self.case(case_id) is None:
                raise StoreError(f"no case {case_id}")
            self._db.execute("UPDATE alerts SET case_id = ? WHERE id = ?", [case_id, alert_id])
        return written(self.case(case_id))

    # -- reports -------------------------------------------------------------------------

    def target(self, ref: str) -> dict:
        """What `ref` names: an alert ("12", "#12") or an account ("@name", "platform:name", "name").
        Returns {case_id, alert_id, platform, handle}; StoreError if none, or if several accounts
        on several networks carry the name."""
        if match := _ALERT_REF.match(ref.strip()):
            alert = self.alert(int(match[1]))
            if alert is None:
                raise StoreError(f"no alert {match[1]}: see `sentinelle log`")
            return {"case_id": self._alert_case(alert["id"]), "alert_id": alert["id"],
                    "platform": alert["platform"], "handle": alert["account"]}
        platform, _, handle = ref.strip().rpartition(":")
        handle = handle.lstrip("@")
        rows = self._db.execute(
            "SELECT DISTINCT platform, account, case_id FROM alerts WHERE account = ? COLLATE NOCASE"
            " AND (? = '' OR platform = ?) UNION SELECT platform, handle, case_id FROM watchlist"
            " WHERE handle = ? COLLATE NOCASE AND (? = '' OR platform = ?)",
            [handle, platform, platform, handle, platform, platform]).fetchall()
        accounts = {(p, h.lower()): (p, h, c) for p, h, c in rows}
        if not accounts:
            raise StoreError(f"no alert or watched account is named {ref!r}: see `sentinelle log`")
        if len(accounts) > 1:
            raise StoreError(f"{ref!r} is an account on {' and '.join(sorted(p for p, _ in accounts))}:"
                             " write it as platform:name")
        (found_platform, found_handle, case_id), = accounts.values()
        return {"case_id": case_id, "alert_id": None, "platform": found_platform, "handle": found_handle}

    def record_report(self, ref: str, channel: str = "platform", reference: str | None = None,
                      on: str | None = None) -> dict:
        """Keep that the parent reported what `ref` names to `channel` (with the reference it gave),
        on `on` (a date or a time, ISO; now when not given). The alerts reported are marked so."""
        channel = (channel or "platform").strip().lower()
        reported_on = _moment(on) if on else now()
        with self._db.atomic():
            target = self.target(ref)
            if target["case_id"] is None:  # an alert or account kept before cases: its child's
                target["case_id"] = self._case_for(None, target["platform"], target["handle"])
            report_id = inserted(self._db.table("reports").insert({
                **target, "channel": channel, "ref": reference, "reported_on": reported_on, "recorded_at": now(),
            }))
            # The alert reported, or every alert of the account reported, is marked so.
            self._db.execute(
                "UPDATE alerts SET status = 'reported', status_changed_at = ? WHERE status IN ('new', 'seen')"
                " AND (id = ? OR (? IS NULL AND platform = ? AND account = ? COLLATE NOCASE))",
                [now(), target["alert_id"], target["alert_id"], target["platform"], target["handle"]])
        return written(self.report(report_id))

    def report(self, report_id: int) -> dict | None:
        rows = list(self._db.query("SELECT * FROM reports WHERE id = ?", [report_id]))
        return rows[0] if rows else None

    def reported_accounts(self) -> list[tuple[str, str]]:
        """(platform, handle) of every reported account not yet seen taken down: whose profile
        the proxy reads, and no other's."""
        return [tuple(row) for row in self._db.execute(
            "SELECT DISTINCT platform, handle FROM reports WHERE handle IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM account_events e WHERE e.kind = ? AND e.platform = reports.platform"
            " AND e.handle = reports.handle COLLATE NOCASE) ORDER BY platform, handle", [TAKEN_DOWN])]

    # -- takedowns and returns ------------------------------------------------------------

    def record_takedown(self, gone: Gone) -> dict | None:
        """Keep that a reported account is gone, with the page that said so. Returns the event,
        or None if the account was not reported or is already known to be gone."""
        seen_at = (gone.seen_at or datetime.now(UTC)).isoformat(timespec="milliseconds")
        with self._db.atomic():
            row = self._db.execute(
                "SELECT case_id, handle FROM reports WHERE platform = ? AND handle = ? COLLATE NOCASE"
                " ORDER BY id LIMIT 1", [gone.platform, gone.handle]).fetchone()
            if row is None or self._events_of(gone.platform, gone.handle, TAKEN_DOWN):
                return None
            sha256 = hashlib.sha256(gone.body).hexdigest()
            media_type = gone.content_type.split(";", 1)[0].strip().lower()
            name = f"{sha256}{_PAGE_EXTENSIONS.get(media_type, '.bin')}"
            if not (self.evidence_dir / name).exists():
                write_atomically(self.evidence_dir / name, gone.body, prefix=".incoming-")
            event_id = inserted(self._db.table("account_events").insert({
                "case_id": row[0], "platform": gone.platform, "handle": row[1], "kind": TAKEN_DOWN,
                "at": seen_at, "detail": json.dumps({"why": gone.why} | ({"means": gone.means} if gone.means else {}), ensure_ascii=False),
                "page_url": gone.url, "http_status": gone.status, "content_type": gone.content_type,
                "evidence_sha256": sha256, "evidence_file": name,
            }))
        return self.account_event(event_id)

    def _note_return(self, case_id: int, platform: str | None, handle: str, at: str, photo_id: int | None) -> None:
        """Note a new account of a case as a return when it comes back after a takedown with a
        photo already seen in the case, or with her name as a taken-down account had it."""
        if self._db.execute("SELECT 1 FROM account_events WHERE platform = ? AND handle = ? COLLATE NOCASE",
                            [platform, handle]).fetchone():
            return  # already known: taken down itself, or already noted as a return
        (first,) = self._db.execute(  # when the case first saw this account (its alerts, its watch-list entry)
            "SELECT min(seen) FROM (SELECT first_seen AS seen FROM alerts WHERE case_id = ? AND platform = ?"
            " AND account = ? COLLATE NOCASE UNION ALL SELECT first_seen FROM watchlist WHERE case_id = ?"
            " AND platform = ? AND handle = ? COLLATE NOCASE)", [case_id, platform, handle, case_id, platform, handle],
        ).fetchone()
        taken_down = list(self._db.query(  # the takedowns it came after
            "SELECT * FROM account_events WHERE case_id = ? AND kind = ? AND at <= ? ORDER BY at DESC",
            [case_id, TAKEN_DOWN, first or at]))
        if not taken_down:
            return
        how, earlier = None, taken_down[0]
        if photo_id is not None and self._db.execute(
                "SELECT 1 FROM alerts WHERE case_id = ? AND photo_id = ? AND NOT (platform = ? AND account = ?"
                " COLLATE NOCASE) LIMIT 1", [case_id, photo_id, platform, handle]).fetchone():
            how = "photo"
            # The taken-down account that showed that photo, if one did: whom it came back as.
            earlier = next((e for e in taken_down if self._db.execute(
                "SELECT 1 FROM alerts WHERE platform = ? AND account = ? COLLATE NOCASE AND photo_id = ?",
                [e["platform"], e["handle"], photo_id]).fetchone()), earlier)
        else:
            mine = self._db.execute("SELECT field, what FROM watchlist WHERE platform = ? AND handle = ? COLLATE NOCASE",
                                    [platform, handle]).fetchone()
            for event in taken_down if mine else ():
                theirs = self._db.execute("SELECT field, what FROM watchlist WHERE platform = ? AND handle = ?"
                                          " COLLATE NOCASE", [event["platform"], event["handle"]]).fetchone()
                if theirs and theirs[1] == mine[1]:
                    how, earlier = "name", event
                    break
        if how is None:
            return
        days = (datetime.fromisoformat(at) - datetime.fromisoformat(earlier["at"])).total_seconds() / 86400
        self._db.table("account_events").insert({
            "case_id": case_id, "platform": platform, "handle": handle, "kind": RETURNED, "at": at,
            "detail": json.dumps({"after": earlier["handle"], "after_platform": earlier["platform"],
                                  "taken_down_at": earlier["at"], "days": round(days, 1), "how": how,
                                  "photo_id": photo_id if how == "photo" else None}, ensure_ascii=False),
        })

    def return_of(self, platform: str, handle: str) -> dict | None:
        """The return an account was noted as, if it was one."""
        events = self._events_of(platform, handle, RETURNED)
        return events[0] if events else None

    def account_event(self, event_id: int) -> dict | None:
        rows = _events(self._db.query(f"{_EVENTS_SQL} WHERE e.id = ?", [event_id]))
        return rows[0] if rows else None

    def _events_of(self, platform: str, handle: str, kind: str) -> list[dict]:
        return _events(self._db.query(
            f"{_EVENTS_SQL} WHERE e.platform = ? AND e.handle = ? COLLATE NOCASE AND e.kind = ? ORDER BY e.id",
            [platform, handle, kind]))

    # -- a case as a whole ------------------------------------------------------------------

    def case_record(self, case_id: int) -> dict:
        """Everything a case holds: its alerts (with their sightings), the accounts watched, the
        reports and the account events; what its timeline and case file are made of."""
        case = self.case(case_id)
        if case is None:
            raise StoreError(f"no case {case_id}")
        alerts = [a for a in self.alerts() if self._alert_case(a["id"]) == case_id]
        for alert in alerts:
            alert["sightings"] = self.sightings(alert["id"])
        return {
            "case": case, "alerts": sorted(alerts, key=lambda a: (a["first_seen"] or "", a["id"])),
            "watched": list(self._db.query("SELECT * FROM watchlist WHERE case_id = ? ORDER BY first_seen, id", [case_id])),
            "reports": list(self._db.query("SELECT * FROM reports WHERE case_id = ? ORDER BY reported_on, id", [case_id])),
            "events": _events(self._db.query("SELECT * FROM account_events WHERE case_id = ? ORDER BY at, id", [case_id])),
        }

    def _alert_case(self, alert_id: int) -> int | None:
        row = self._db.execute("SELECT case_id FROM alerts WHERE id = ?", [alert_id]).fetchone()
        return row[0] if row else None


# An account's event, with the child of its case: what the parent's phone is told names her.
_EVENTS_SQL = "SELECT e.*, c.child FROM account_events e LEFT JOIN cases c ON c.id = e.case_id"


def _events(rows) -> list[dict]:
    return [row | {"detail": json.loads(row["detail"]) if row["detail"] else {}} for row in rows]


def _moment(text: str) -> str:
    """A date ("2026-11-25") or time ("2026-11-25T09:30", with or without its zone) the parent
    typed, as the store keeps moments: UTC, ISO. A date alone is that day, at noon UTC."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat(timespec="milliseconds")
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise StoreError(f"{text!r} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the parent's local time
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
