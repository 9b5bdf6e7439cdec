"""The parent's channels and the outbox: what is due to each channel, kept until it is sent.

A channel is an Apprise URL (ntfy, e-mail, Telegram…) that reaches the parent away from the
PC. Its URL holds secrets (a token, a password): it is kept here, in the data dir only the
parent can read, and given out only to what sends (`channel_url`, `outbox`); everything else
gets `shown`, the URL with its secrets masked (server/notify/channels.py makes it).

The outbox holds one note per channel and per piece of news (an alert, an account on the watch
list): what the message says of it (its kind, the child, the network, the account) and when it
was queued, never an image or an address. A note is sent once (`key`: one per alert and kind),
and stays, marked sent, so that it is never queued twice. A channel that fails keeps its notes,
its count of failures and when to try again; a restart finds them all here.

Part of the store (`Store` inherits it): the same connection, the same thread.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlite_utils

from sentinelle.server.store.schema import StoreError, inserted, written

# When the parent hears of what can wait: the digest's time of day, and quiet hours (None: none).
DEFAULT_HOURS = {"digest": "18:00", "quiet": None}

# What a channel is shown as: everything but its URL.
_CHANNEL_SQL = """
SELECT channels.id, channels.name, channels.shown, channels.details, channels.added_at,
       channels.last_sent_at, channels.failures, channels.failing_since, channels.last_error,
       channels.last_error_at, channels.next_try_at,
       (SELECT count(*) FROM outbox WHERE outbox.channel_id = channels.id AND sent_at IS NULL) AS pending
FROM channels"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class Outbox:
    """The store's channels, outbox and notification hours."""

    _db: sqlite_utils.Database

    # -- channels ---------------------------------------------------------------------

    def add_channel(self, name: str, url: str, shown: str, details: bool, at: datetime) -> dict:
        """Keep a channel; StoreError when the name is another channel's."""
        with self._db.atomic():
            if self.channel(name) is not None:
                raise StoreError(f"a channel is already named {name!r}: choose another --name")
            channel_id = inserted(self._db.table("channels").insert({
                "name": name, "url": url, "shown": shown, "details": int(details), "added_at": _iso(at),
                "failures": 0,
            }))
        return written(self.channel(channel_id))

    def channels(self) -> list[dict]:
        """Every channel as it may be shown (its URL masked), with its failures and notes pending."""
        return [_channel(row) for row in self._db.query(_CHANNEL_SQL + " ORDER BY channels.id")]

    def channel(self, ref: int | str) -> dict | None:
        """A channel by its number or its name, as it may be shown."""
        column = "id" if isinstance(ref, int) else "name"
        rows = list(self._db.query(_CHANNEL_SQL + f" WHERE channels.{column} = ?", [ref]))
        return _channel(rows[0]) if rows else None

    def channel_url(self, channel_id: int) -> str:
        """The channel's whole URL, secrets included: for sending only."""
        row = self._db.execute("SELECT url FROM channels WHERE id = ?", [channel_id]).fetchone()
        if row is None:
            raise StoreError(f"no channel {channel_id}")
        return row[0]

    def remove_channel(self, channel_id: int) -> dict:
        """Forget a channel, its URL and its notes. Returns it as it was shown.

        The URL's bytes are overwritten, not only unlinked (`secure_delete`), and the log of
        older pages is emptied: a token the parent removed is not left in the file."""
        self._db.execute("PRAGMA secure_delete = ON")
        try:
            with self._db.atomic():
                channel = self.channel(channel_id)
                if channel is None:
                    raise StoreError(f"no channel {channel_id}")
                self._db.execute("DELETE FROM outbox WHERE channel_id = ?", [channel_id])
                self._db.execute("DELETE FROM channels WHERE id = ?", [channel_id])
        finally:
            self._db.execute("PRAGMA secure_delete = OFF")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return channel

    def set_channel_details(self, channel_id: int, details: bool) -> dict:
        """Whether the channel's messages name the account and what kind of alert it is."""
        with self._db.atomic():
            if not self._db.execute("UPDATE channels SET details = ? WHERE id = ?", [int(details), channel_id]).rowcount:
                raise StoreError(f"no channel {channel_id}")
        return written(self.channel(channel_id))

    # -- the outbox -------------------------------------------------------------------

    def queue_note(self, key: str, plain_key: str, kind: str, child: str | None, network: str | None,
                   account: str | None, at: datetime) -> int:
        """A piece of news for every channel, once per key and channel: `key` on a channel with
        details, `plain_key` (what it is without them) on the others. Returns how many channels
        it was queued for (0: no channel, or each told already)."""
        with self._db.atomic():
            return self._db.execute(
                "INSERT OR IGNORE INTO outbox (channel_id, key, kind, child, network, account, queued_at)"
                " SELECT id, CASE WHEN details THEN ? ELSE ? END, ?, ?, ?, ?, ? FROM channels",
                [key, plain_key, kind, child, network, account, _iso(at)],
            ).rowcount

    def outbox(self) -> list[tuple[dict, list[dict]]]:
        """Each channel with notes not yet sent, its whole URL and its notes, oldest first."""
        channels = {row["id"]: row for row in self._db.query(
            "SELECT channels.*, NULL AS pending FROM channels WHERE id IN"
            " (SELECT channel_id FROM outbox WHERE sent_at IS NULL) ORDER BY id")}
        notes: dict[int, list[dict]] = {channel_id: [] for channel_id in channels}
        for note in self._db.query(
                "SELECT id, channel_id, key, kind, child, network, account, queued_at FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id"):
            notes[note["channel_id"]].append(note)
        return [(_channel(channels[channel_id], with_url=True), notes[channel_id]) for channel_id in channels]

    def notes_sent(self, channel_id: int, note_ids: list[int], at: datetime) -> None:
        """The notes reached the channel: marked sent, and the channel's failures are over."""
        with self._db.atomic():
            self._db.execute(
                f"UPDATE outbox SET sent_at = ? WHERE channel_id = ? AND id IN ({','.join('?' * len(note_ids))})",
                [_iso(at), channel_id, *note_ids])
            self._db.execute(
                "UPDATE channels SET last_sent_at = ?, failures = 0, failing_since = NULL, next_try_at = NULL"
                " WHERE id = ?", [_iso(at), channel_id])

    def sending_failed(self, channel_id: int, at: datetime, reason: str, next_try: datetime) -> None:
        """The channel refused or could not be reached: its notes wait for `next_try`."""
        with self._db.atomic():
            self._db.execute(
                "UPDATE channels SET failures = failures + 1, failing_since = coalesce(failing_since, ?),"
                " last_error = ?, last_error_at = ?, next_try_at = ? WHERE id = ?",
                [_iso(at), reason, _iso(at), _iso(next_try), channel_id])

    def test_reached(self, channel_id: int, at: datetime) -> None:
        """A test message reached the channel: it works, so its failures are over and what it had
        waiting is tried at once."""
        with self._db.atomic():
            self._db.execute(
                "UPDATE channels SET last_sent_at = ?, failures = 0, failing_since = NULL, next_try_at = NULL"
                " WHERE id = ?", [_iso(at), channel_id])

    # -- when the parent hears ----------------------------------------------------------

    def notify_hours(self) -> dict:
        """{"digest": "HH:MM", "quiet": ["HH:MM", "HH:MM"] or None}."""
        row = self._db.execute("SELECT value FROM preferences WHERE key = 'notify_hours'").fetchone()
        return DEFAULT_HOURS | (json.loads(row[0]) if row else {})

    def set_notify_hours(self, hours: dict) -> dict:
        """Keep the hours given (`digest`, `quiet`); those not given stay."""
        with self._db.atomic():
            kept = self.notify_hours() | {k: v for k, v in hours.items() if k in DEFAULT_HOURS}
            self._db.execute(
                "INSERT INTO preferences (key, value) VALUES ('notify_hours', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value", [json.dumps(kept)])
        return kept


def _channel(row: dict, *, with_url: bool = False) -> dict:
    return {k: v for k, v in row.items() if with_url or k != "url"} | {"details": bool(row["details"])}
