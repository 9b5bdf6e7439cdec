"""The store's history: the named steps (migrations) that bring a database an older Sentinelle
wrote to the tables of today, in the order they were made. `schema.migrate` runs those a
database has not had yet, each in one transaction; its `PRAGMA user_version` counts them.

To add one: write a function `_add_what_it_brings(db)` below the last, whose docstring says what
the store keeps from now on and what rows recorded before hold (NULL, or what the step derived
for them), and append it to `MIGRATIONS`. Never edit or reorder a step that has shipped: a
parent's database has run it. A step that rewrites evidence lifts its table's append-only
guard for itself alone (`_not_append_only`, then `_append_only`). Its test makes the database
as it was before the step (tests/support/older_store.py `database_before`), fills it as that
Sentinelle did, and opens a `Store` on it.
"""

from __future__ import annotations

import json
import re

import sqlite_utils

from sentinelle.proxy.feeds.image_keys import image_key
from sentinelle.server.store.child_names import one_child_each

# The enrolled view that holds a photo's keypoints at the scale of a profile picture
# (proxy/engine/avatar.py AVATAR_VIEW, which a test keeps equal to this).
AVATAR_VIEW = "avatar"


def _create_v1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": int}, pk="key")
    db.table("children").create({"id": int, "name": str}, pk="id", not_null={"name"})
    db.table("children").create_index(["name"], unique=True)
    db.table("photos").create(
        {"id": int, "sha256": str, "name": str, "child_id": int, "width": int, "height": int,
         "thumbnail": bytes, "enrolled_at": str},
        pk="id", not_null={"sha256", "name", "enrolled_at"},
        foreign_keys=[("child_id", "children", "id")],
    )
    db.table("photos").create_index(["sha256"], unique=True)
    db.table("fingerprints").create(
        {"id": int, "photo_id": int, "view": str, "data": bytes},
        pk="id", not_null={"photo_id", "view", "data"},
        foreign_keys=[("photo_id", "photos", "id")],
    )
    db.table("fingerprints").create_index(["photo_id"])
    db.table("alerts").create(
        {"id": int, "photo_id": int, "photo_name": str, "child": str, "image_key": str,
         "image_url": str, "page_url": str, "host": str, "platform": str, "score": float,
         "first_seen": str, "last_seen": str, "count": int, "status": str,
         "status_changed_at": str},
        pk="id", not_null={"photo_id", "image_key", "image_url", "status"},
    )
    db.table("alerts").create_index(["photo_id", "image_key"], unique=True)
    db.table("alerts").create_index(["status"])
    db.table("sightings").create(
        {"id": int, "alert_id": int, "seen_at": str, "image_url": str, "page_url": str,
         "host": str, "platform": str, "content_type": str, "score": float, "view": str,
         "evidence_sha256": str, "evidence_file": str, "evidence_bytes": int},
        pk="id", not_null={"alert_id", "seen_at", "evidence_sha256", "evidence_file"},
        foreign_keys=[("alert_id", "alerts", "id")],
    )
    db.table("sightings").create_index(["alert_id"])


def _add_local_features(db: sqlite_utils.Database) -> None:
    """Fingerprints v2: the "original" and "mirror" views gain local features (keypoints).

    Photos enrolled before have only their hashes, and the store never kept the photo
    itself: their keypoints are taken from the review page's thumbnail (256 px), the
    best picture there is. They may match through edits a little less well than photos
    enrolled since; enrolling the photo again (forget, then enrol) gives it keypoints
    taken of the full photo.
    """
    rows = db.execute(
        "SELECT fingerprints.id, fingerprints.view, fingerprints.data, photos.thumbnail "
        "FROM fingerprints JOIN photos ON photos.id = fingerprints.photo_id "
        "WHERE fingerprints.view IN ('original', 'mirror')"
    ).fetchall()
    if not rows:
        return
    # The matching engine, only for this step and only with photos to bring up to date.
    from PIL import ImageOps

    from sentinelle.proxy.engine.fingerprint import Fingerprint, with_local_features
    from sentinelle.proxy.engine.images import ImageError, open_image

    for row_id, view, data, thumbnail in rows:
        fp = Fingerprint.from_bytes(data)
        if fp.local or not thumbnail:
            continue
        try:
            img = open_image(thumbnail, min_side=1)
        except ImageError:
            continue  # a damaged thumbnail: the photo keeps matching by its hashes
        if view == "mirror":
            img = ImageOps.mirror(img)
        db.execute("UPDATE fingerprints SET data = ? WHERE id = ?", [with_local_features(fp, img).to_bytes(), row_id])


def _add_attribution(db: sqlite_utils.Database) -> None:
    """Who posted it: alerts group by account when a feed named it, and evidence is append-only.

    Alerts gain the account, its page and the post; sightings gain the normalised image
    address (so an image finds its alert whatever alert it joined), the response headers
    kept as evidence and the feed record that named the account. Sightings can no longer
    be changed or deleted, by Sentinelle or anyone using its database.
    """
    db.execute("DROP INDEX IF EXISTS idx_alerts_photo_id_image_key")
    db.table("alerts").create_index(["photo_id", "image_key"])
    for column in ("account", "account_url", "post_url"):
        db.table("alerts").add_column(column, str)
    db.table("alerts").create_index(["photo_id", "platform", "account"])
    for column in ("image_key", "response_headers", "account", "post_url", "attribution"):
        db.table("sightings").add_column(column, str)
    for row_id, url in db.execute("SELECT id, image_url FROM sightings").fetchall():
        db.execute("UPDATE sightings SET image_key = ? WHERE id = ?", [image_key(url or ""), row_id])
    db.table("sightings").create_index(["image_key"])
    _append_only(db)


def _add_region(db: sqlite_utils.Database) -> None:
    """The match says where: each sighting keeps the four corners of the protected photo in
    the image seen (JSON `[[x, y], …]`, its pixels); sightings recorded before have none."""
    db.table("sightings").add_column("region", str)


def _platform_image_keys(db: sqlite_utils.Database) -> None:
    """One image, one key: alerts and sightings of a social CDN's image are keyed by the
    platform's stable part of its address (proxy/feeds/image_keys.py: a file name, a media id, an
    md5), so two sizes or two signatures of one image find the same alert.

    The key is derived from the address kept in each row, never evidence itself: the
    append-only guard of sightings is lifted for this step alone, and put back.
    """
    _not_append_only(db, "sightings")
    for table in ("alerts", "sightings"):
        for row_id, url in db.execute(f"SELECT id, image_url FROM {table}").fetchall():
            db.execute(f"UPDATE {table} SET image_key = ? WHERE id = ?", [image_key(url or ""), row_id])
    _append_only(db)


def _add_first_poster(db: sqlite_utils.Database) -> None:
    """Re-posts and profile pictures: an alert says what the image was to the account that
    showed it (`kind`: a post, or its profile picture) and, for a retweet, quote, cross-post
    or re-pin, who posted it first. Alerts recorded before have none (NULL: a post)."""
    for column in ("kind", "repost", "first_account", "first_account_url", "first_post_url"):
        db.table("alerts").add_column(column, str)
    for column in ("kind", "first_account"):
        db.table("sightings").add_column(column, str)


def _append_only(db: sqlite_utils.Database, table: str = "sightings") -> None:
    what = table.replace("_", " ")
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_append_only_{event.lower()} BEFORE {event} ON {table}"
            f" BEGIN SELECT RAISE(ABORT, '{what} are evidence: append-only'); END"
        )


def _not_append_only(db: sqlite_utils.Database, table: str) -> None:
    """Lift `table`'s append-only guard, for a step that rewrites what an older Sentinelle kept."""
    for event in ("update", "delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{event}")


def _add_child_names(db: sqlite_utils.Database) -> None:
    """A child has names and handles: her nicknames and her own accounts (JSON lists), so
    that accounts pretending to be her can be told from hers."""
    db.table("children").add_column("aliases", str)
    db.table("children").add_column("handles", str)


def _add_impersonation(db: sqlite_utils.Database) -> None:
    """Accounts that pretend to be a child. An alert's `kind` now says what it is to the
    parent: a copy of her photo, or an impersonation (an account whose name looks like hers
    shows her photo); what the image was to the account (a post, its profile picture) moves
    to `shown_as`. Alerts gain the account's display name and what of it resembled her.
    The watch list keeps accounts whose names look like a child's, with or without her photos."""
    for table in ("alerts", "sightings"):
        db.execute(f"ALTER TABLE {table} RENAME COLUMN kind TO shown_as")
    for column in ("kind", "display_name", "resemblance"):
        db.table("alerts").add_column(column, str)
    db.table("watchlist").create(
        {"id": int, "child": str, "platform": str, "handle": str, "display_name": str,
         "profile_url": str, "field": str, "what": str, "first_seen": str, "last_seen": str,
         "count": int, "status": str, "status_changed_at": str, "feed_url": str, "record": str},
        pk="id", not_null={"child", "platform", "handle", "status"},
    )
    db.execute("CREATE UNIQUE INDEX watchlist_account ON watchlist (platform, handle COLLATE NOCASE)")


def _add_avatar_views(db: sqlite_utils.Database) -> None:
    """Profile pictures: each photo gains an "avatar" view, its keypoints at the scale of a
    tight square crop served small (proxy/engine/avatar.py). Photos enrolled before have none, and
    the store never kept the photo itself: theirs is taken from the review page's thumbnail
    (256 px), the best picture there is. A crop of a third of it holds few details, so such
    a photo finds fewer profile pictures than one enrolled since; enrolling it again (forget,
    then enrol) takes the view of the full photo.
    """
    rows = db.execute(
        "SELECT id, thumbnail FROM photos WHERE thumbnail IS NOT NULL AND id NOT IN "
        "(SELECT photo_id FROM fingerprints WHERE view = ?)", [AVATAR_VIEW]
    ).fetchall()
    if not rows:
        return
    # The matching engine, only for this step and only with photos to bring up to date.
    from sentinelle.proxy.engine.fingerprint import avatar_view
    from sentinelle.proxy.engine.images import ImageError, open_image

    for photo_id, thumbnail in rows:
        try:
            img = open_image(thumbnail, min_side=1)
        except ImageError:
            continue  # a damaged thumbnail: the photo keeps matching as before
        db.table("fingerprints").insert({"photo_id": photo_id, "view": AVATAR_VIEW, "data": avatar_view(img).to_bytes()})


def _one_child_one_name(db: sqlite_utils.Database) -> None:
    """One child, one name (server/store/child_names.py): a child an older Sentinelle kept as
    two ("Alice" from `enroll --child Alice`, then "Alice Dupont" from `child set`; or "léa
    martin" beside "Léa Martin") becomes one, as the store would have kept her had it known the
    rule: her photos, nicknames and accounts together under her full name, and her alerts and
    watch-list entries under that name too. A first name that several full names start with is
    left alone (`sentinelle child rename` joins it to the one the parent means).
    """
    # schema.py imports this module for its list of steps: what a step shares with the store's
    # parts is imported when it runs.
    from sentinelle.server.store.schema import bump_photos_revision, merge_child, rename_child

    merges, renames = one_child_each(db.execute("SELECT id, name FROM children").fetchall())
    for gone, kept in merges:
        merge_child(db, gone, kept)
    for child_id, name in renames.items():
        rename_child(db, child_id, name)
    if merges or renames:
        bump_photos_revision(db)  # the watcher's workers check accounts against her names


def _one_image_key(db: sqlite_utils.Database) -> None:
    """One image key (proxy/feeds/image_keys.py `image_key`) for the feeds' map and the store: an
    address of no known CDN (a host the parent added) keys to its host and path without the
    file's extension, as the map already keyed it, where the store kept its scheme and
    extension. Recomputed from each row's address, as `_platform_image_keys` did."""
    _platform_image_keys(db)


def _add_account_ids_and_stories(db: sqlite_utils.Database) -> None:
    """An account named by its id alone, and stories (issue 29). Some feeds name a post's account
    by its id only: alerts and sightings keep that id, and the alert takes the account's handle
    when a feed ties the id to it. A story disappears from the platform a day after it is posted:
    an alert of a story keeps when (the evidence is what Sentinelle kept). Alerts recorded before
    have neither (NULL)."""
    for column in ("account_id", "expires_at"):
        db.table("alerts").add_column(column, str)
    db.table("sightings").add_column("account_id", str)
    db.table("alerts").create_index(["platform", "account_id"])


def _add_cases(db: sqlite_utils.Database) -> None:
    """Cases: the whole story of what was done against a child, from the first fake account to
    the last. Alerts and watch-list accounts belong to a case (one per child to begin with; the
    parent can split one or move an alert); the parent's reports are kept (to whom, the reference
    the platform gave, when), and what happened to an account: taken down (when, and the page that
    said so, as evidence) or a return (a new account that came back with her photo or her name).
    Alerts and accounts recorded before join their child's case; events are append-only, as
    sightings are."""
    from sentinelle.server.store.schema import inserted, now  # when it runs, as above

    db.table("cases").create({"id": int, "child": str, "title": str, "created_at": str}, pk="id")
    for table in ("alerts", "watchlist"):
        db.table(table).add_column("case_id", int)
        db.table(table).create_index(["case_id"])
    db.table("reports").create(
        {"id": int, "case_id": int, "alert_id": int, "platform": str, "handle": str, "channel": str,
         "ref": str, "reported_on": str, "recorded_at": str},
        pk="id", not_null={"case_id", "channel", "reported_on", "recorded_at"},
    )
    db.table("account_events").create(
        {"id": int, "case_id": int, "platform": str, "handle": str, "kind": str, "at": str,
         "detail": str, "page_url": str, "http_status": int, "content_type": str,
         "evidence_sha256": str, "evidence_file": str},
        pk="id", not_null={"case_id", "platform", "handle", "kind", "at"},
    )
    db.table("account_events").create_index(["case_id"])
    _append_only(db, "account_events")
    children = {row[0] for table in ("alerts", "watchlist")
                for row in db.execute(f"SELECT DISTINCT child FROM {table}")}
    for child in sorted(children, key=lambda c: (c is None, c or "")):
        case_id = inserted(db.table("cases").insert({"child": child, "created_at": now()}))
        for table in ("alerts", "watchlist"):
            db.execute(f"UPDATE {table} SET case_id = ? WHERE child IS ?", [case_id, child])


def _add_notify(db: sqlite_utils.Database) -> None:
    """Alerts reach the parent's phone or mailbox (server/notify/): the channels (Apprise URLs,
    which hold secrets: kept here only, in the data dir only the parent can read, and shown
    masked), the outbox (what is due to each channel, with its attempts, so that a restart
    loses nothing) and the parent's preferences (the digest's hour, quiet hours). Nothing that
    happened before reaches a channel: only what is seen once one is added."""
    db.table("channels").create(
        {"id": int, "name": str, "url": str, "shown": str, "details": int, "added_at": str,
         "last_sent_at": str, "failures": int, "failing_since": str, "last_error": str,
         "last_error_at": str, "next_try_at": str},
        pk="id", not_null={"name", "url", "shown", "details", "added_at", "failures"},
    )
    db.table("channels").create_index(["name"], unique=True)
    db.table("outbox").create(
        {"id": int, "channel_id": int, "key": str, "kind": str, "child": str, "network": str,
         "account": str, "queued_at": str, "sent_at": str},
        pk="id", not_null={"channel_id", "key", "kind", "queued_at"},
        foreign_keys=[("channel_id", "channels", "id")],
    )
    db.table("outbox").create_index(["channel_id", "key"], unique=True)
    db.table("outbox").create_index(["sent_at"])
    db.table("preferences").create({"key": str, "value": str}, pk="key", not_null={"value"})


def _add_patrol(db: sqlite_utils.Database) -> None:
    """Looking for her (server/store/patrol.py): each look of the extension's patrol, one search
    or one profile on one network, stamped by the server when it starts and ends, with what
    stopped it. What it found is read from the sightings and the watch list, never stored here."""
    db.table("patrol").create(
        {"id": int, "run": str, "platform": str, "what": str, "term": str, "child": str, "url": str,
         "started_at": str, "ended_at": str, "outcome": str, "scrolls": int, "requests": int},
        pk="id", not_null={"run", "platform", "what", "term", "url", "started_at"},
    )
    db.table("patrol").create_index(["platform", "started_at"])


# How an older Sentinelle kept what said an account was gone: a page's sentence inside an English
# one, a status or a field with its meaning in English words → (why, means).
_OLD_PAGE_SAYS = re.compile(r"the page says “(.*)”", re.S)
_OLD_REASONS: dict[str, tuple[str, str | None]] = {
    "statusCode 10202 (no such account)": ("statusCode 10202", "gone_no_such_account"),
    "statusCode 10221 (banned)": ("statusCode 10221", "gone_banned"),
    "data is empty (no such account)": ("data is empty", "gone_no_such_account"),
    "data.user is null": ("data.user is null", "gone_no_such_account"),
    "is_suspended": ("is_suspended", "gone_suspended"),
    "UserUnavailable (no reason given)": ("UserUnavailable", None),
}


def _what_said_gone(db: sqlite_utils.Database) -> None:
    """What said a reported account is gone (proxy/feeds/gone.py) is kept as the network said it
    (`why`), with what it means as a key of Sentinelle's words (`means`, server/words.py), so that
    the case file says it in the parent's language without reading it back out of English: a
    page's sentence, which an older Sentinelle kept inside its own ("the page says “…”"), is
    kept alone; a status or a field loses the English words an older Sentinelle put beside it
    ("statusCode 10202 (no such account)"). Rewritten from each takedown's detail; the
    append-only guard of account events is lifted for this step alone, and put back."""
    _not_append_only(db, "account_events")
    for row_id, detail in db.execute("SELECT id, detail FROM account_events WHERE kind = 'taken_down'").fetchall():
        said = json.loads(detail or "{}")
        old = said.get("why")
        page = _OLD_PAGE_SAYS.fullmatch(old) if isinstance(old, str) else None
        if page is None and (not isinstance(old, str) or old not in _OLD_REASONS):
            continue  # a status ("HTTP 404"), or X's own reason: kept as it is
        why, means = (page[1], "gone_page_says") if page else _OLD_REASONS[old]
        said |= {"why": why} | ({"means": means} if means else {})
        db.execute("UPDATE account_events SET detail = ? WHERE id = ?", [json.dumps(said, ensure_ascii=False), row_id])
    _append_only(db, "account_events")


MIGRATIONS = [_create_v1, _add_attribution, _add_local_features, _add_region, _platform_image_keys,
              _add_first_poster, _add_child_names, _add_impersonation, _add_avatar_views,
              _one_child_one_name, _one_image_key, _add_account_ids_and_stories, _add_cases, _add_notify, _add_patrol,
              _what_said_gone]
