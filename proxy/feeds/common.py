"""What every feed reader shares: safe steps into JSON, the fields of an attribution, accounts.

A reader takes one JSON object and yields `(image address, fields)`; the fields are those of
`proxy.feeds.attribution.Attribution` other than where the feed came from. A reader never raises
on a shape it does not know: it looks before it steps (`get`), and yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

Fields = dict[str, str | None]

POST = "post"
PROFILE_PICTURE = "profile_picture"
STORY = "story"  # a post that disappears after a day (Instagram's stories)
STORY_LIFETIME = timedelta(hours=24)


def get(node: object, *path: str | int) -> object:
    """`node[path[0]][path[1]]…`, or None where a step is missing or of another type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return None
            node = node[step]
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            return None
    return node


def text(value: object, limit: int = 2000) -> str | None:
    """A non-empty string, stripped and trimmed; None for anything else."""
    return value.strip()[:limit] or None if isinstance(value, str) else None


def dicts(value: object) -> list[dict]:
    """The dicts of a list (or of a dict's values); nothing else."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [item for item in items if isinstance(item, dict)]


def strings(value: object) -> list[str]:
    """The strings of a list, or a string alone."""
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def identifier(value: object) -> str | None:
    """An account's or post's numeric id, as the feeds write it (a number or a string of digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    value = text(value, 64)
    return value if value is not None and value.isdigit() else None


def when(seconds: object) -> datetime | None:
    """A time the feeds give in seconds since 1970 (a number or a string of digits), in UTC."""
    if isinstance(seconds, str) and seconds.strip().isdigit():
        seconds = int(seconds)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds < 10**10:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def post(handle: object, account_url: str, post_url: str | None, caption: object = None,
         display_name: object = None, account_id: object = None) -> Fields:
    """The fields of a post shown by `handle` (account_url: a format with `{}` for the handle);
    `account_id`, the platform's id of that account, is all some feeds give."""
    handle = text(handle, 200)
    return {
        "account": handle, "account_url": (account_url.format(handle) or None) if handle else None,
        "post_url": post_url, "caption": text(caption), "display_name": text(display_name, 200),
        "shown_as": POST, "account_id": identifier(account_id),
    }


def story(fields: Fields, posted: datetime | None, expires: datetime | None) -> Fields:
    """`fields` of a story: when it was posted and when it goes (a day after, unless the feed says)."""
    expires = expires or (posted + STORY_LIFETIME if posted else None)
    return fields | {"shown_as": STORY, "posted_at": posted.isoformat() if posted else None,
                     "expires_at": expires.isoformat() if expires else None}


def reposted(fields: Fields, how: str, handle: object, account_url: str, post_url: str | None) -> Fields:
    """`fields` of a post that shows another's (`how`: retweet, quote, crosspost, repin, media):
    with who posted it first, when the feed names them and they are not the one showing it."""
    handle = text(handle, 200)
    if handle is None or handle == fields.get("account"):
        return fields
    return fields | {"repost": how, "first_account": handle,
                     "first_account_url": account_url.format(handle) or None, "first_post_url": post_url}


def profile(handle: object, account_url: str, picture: object, display_name: object = None,
            account_id: object = None) -> Iterator[tuple[str, Fields]]:
    """An account seen in a feed, with its picture: yields (picture address, fields) if both are known."""
    handle = text(handle, 200)
    if handle is None:
        return
    fields = post(handle, account_url, account_url.format(handle) or None, None, display_name, account_id)
    fields["shown_as"] = PROFILE_PICTURE
    for url in strings(picture):
        yield url, fields
