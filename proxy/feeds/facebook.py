"""Facebook (partly documented): photo nodes of a photo page, and the attachments of feed
stories sent in `<script data-sjs>` and by `POST /api/graphql/` (docs/feed-shapes.md,
Facebook; gdl `facebook.py` `parse_photo_page`, ytdlp `facebook.py`).

A photo: `__typename`/`__isNode` "Photo", `id`, `owner {__typename, id, name}`, `image.uri`
(also `photo_image.uri`, `viewer_image.uri`). A story: `actors[0]` (who posted it),
`attachments[].styles.attachment.media` (or `style_type_renderer`), and
`….all_subattachments.nodes[].media` for an album. Facebook names people by their name and
id, rarely by a handle: the account is the name, its address the profile's.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, strings, text

_PICTURE_KEYS = ("image", "photo_image", "viewer_image")


def _who(user: object) -> tuple[str | None, str, str | None]:
    """(account, its address format, display name) of an owner or actor. Facebook shows
    people by their name, and a feed gives it more surely than a handle: the account is the
    name (so that one person is one account whatever else the feed left out), its address
    the profile's when the feed gives one, else the one its id makes."""
    name = text(get(user, "name"), 200)
    url = text(get(user, "url")) or text(get(user, "profile_url"))
    if url and urlsplit(url).hostname in ("www.facebook.com", "facebook.com", "m.facebook.com"):
        return name, url.replace("{", "%7B").replace("}", "%7D"), name
    user_id = text(get(user, "id"), 64)
    if user_id and user_id.isdigit():
        return name, f"https://www.facebook.com/profile.php?id={user_id}", name
    return name, "", name


def _fields(user: object, post_url: str | None, caption: object) -> Fields:
    account, account_url, name = _who(user)
    return post(account, account_url, post_url, caption, name)


def _photos(media: object) -> list[str]:
    return [url for key in _PICTURE_KEYS for url in strings(get(media, key, "uri"))]


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _story(node)
    yield from _photo(node)
    yield from _account(node)


def _photo(node: dict) -> Iterator[tuple[str, Fields]]:
    if "Photo" not in (node.get("__typename"), node.get("__isNode"), node.get("__isMedia")):
        return
    photo_id = text(node.get("id"), 64)
    owner = node.get("owner")
    if photo_id is None or not isinstance(owner, dict):
        return
    post_url = text(node.get("url")) or f"https://www.facebook.com/photo/?fbid={photo_id}"
    fields = _fields(owner, post_url, get(node, "message", "text") or get(node, "accessibility_caption"))
    yield from ((url, fields) for url in _photos(node))


def _story(node: dict) -> Iterator[tuple[str, Fields]]:
    actors = dicts(node.get("actors"))
    attachments = dicts(node.get("attachments"))
    if not actors or not attachments:
        return
    post_url = text(node.get("url")) or text(node.get("wwwURL"))
    fields = _fields(actors[0], post_url, get(node, "message", "text"))
    for attachment in attachments:
        for container in (attachment.get("styles"), attachment.get("style_type_renderer"), attachment):
            inner = get(container, "attachment")
            media = [get(inner, "media")]
            media += [get(sub, "media") for sub in dicts(get(inner, "all_subattachments", "nodes"))]
            for item in media:
                yield from ((url, fields) for url in _photos(item))


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """An actor or owner with a picture (`profile_picture.uri`)."""
    pictures = strings(get(node, "profile_picture", "uri"))
    if not pictures or not text(node.get("name")):
        return
    account, account_url, name = _who(node)
    yield from profile(account, account_url, pictures, name)
