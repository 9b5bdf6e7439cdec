"""Reddit: posts of listings (`kind: t3`), their previews, galleries and cross-posts, and
users (`kind: t2`) with their icon (docs/feed-shapes.md, Reddit; gdl `reddit.py`
`_extract_gallery`). Without `raw_json=1` addresses carry `&amp;`: image keys unescape them.

A cross-post's images are its parent's (`crosspost_parent_list[0]`): the alert names who
cross-posted it here and who posted it first.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, reposted, strings, text

ACCOUNT_URL = "https://www.reddit.com/user/{}/"


def _permalink(data: dict) -> str | None:
    permalink = text(data.get("permalink"))
    return f"https://www.reddit.com{permalink}" if permalink and permalink.startswith("/") else None


def _author(data: dict) -> str | None:
    author = text(data.get("author"))
    return None if author in (None, "[deleted]") else author


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    data = node.get("data")
    if not isinstance(data, dict):
        return
    if node.get("kind") == "t3":
        fields = post(_author(data), ACCOUNT_URL, _permalink(data), data.get("title"))
        yield from _images(data, fields)
        for parent in dicts(data.get("crosspost_parent_list"))[:1]:
            first = _author(parent)
            yield from _images(parent, reposted(fields, "crosspost", first, ACCOUNT_URL, _permalink(parent)))
    elif node.get("kind") == "t2":
        pictures = strings(data.get("icon_img")) + strings(data.get("snoovatar_img"))
        yield from profile(data.get("name"), ACCOUNT_URL, pictures, get(data, "subreddit", "title"))


def _images(data: dict, fields: Fields) -> Iterator[tuple[str, Fields]]:
    for url in strings(data.get("url")):
        if url.startswith(("https://i.redd.it/", "https://preview.redd.it/", "http://i.redd.it/")):
            yield url, fields
    for image in dicts(get(data, "preview", "images")):
        for size in [image.get("source"), *(image.get("resolutions") or [])]:
            yield from ((url, fields) for url in strings(get(size, "url")))
    for item in dicts(data.get("media_metadata")):
        for size in [item.get("s"), *(item.get("p") or [])]:
            yield from ((url, fields) for url in strings(get(size, "u")))
