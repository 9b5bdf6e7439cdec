"""What every feed reader shares: safe steps into JSON, the fields of an attribution, accounts.

A reader takes one JSON object and yields `(image address, fields)`; the fields are those of
`proxy.feeds.attribution.Attribution` other than where the feed came from. A reader never raises
on a shape it does not know: it looks before it steps (`get`), and yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

Fields = dict[str, str | None]

POST = "post"
PROFILE_PICTURE = "profile_picture"


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


def post(handle: object, account_url: str, post_url: str | None, caption: object = None,
         display_name: object = None) -> Fields:
    """The fields of a post shown by `handle` (account_url: a format with `{}` for the handle)."""
    handle = text(handle, 200)
    return {
        "account": handle, "account_url": (account_url.format(handle) or None) if handle else None,
        "post_url": post_url, "caption": text(caption), "display_name": text(display_name, 200),
        "shown_as": POST,
    }


def reposted(fields: Fields, how: str, handle: object, account_url: str, post_url: str | None) -> Fields:
    """`fields` of a post that shows another's (`how`: retweet, quote, crosspost, repin, media):
    with who posted it first, when the feed names them and they are not the one showing it."""
    handle = text(handle, 200)
    if handle is None or handle == fields.get("account"):
        return fields
    return fields | {"repost": how, "first_account": handle,
                     "first_account_url": account_url.format(handle) or None, "first_post_url": post_url}


def profile(handle: object, account_url: str, picture: object, display_name: object = None) -> Iterator[tuple[str, Fields]]:
    """An account seen in a feed, with its picture: yields (picture address, fields) if both are known."""
    handle = text(handle, 200)
    if handle is None:
        return
    fields = post(handle, account_url, account_url.format(handle) or None, None, display_name)
    fields["shown_as"] = PROFILE_PICTURE
    for url in strings(picture):
        yield url, fields
