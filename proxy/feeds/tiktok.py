"""TikTok: the items of `…/item_list/` APIs, of a page's rehydration JSON, of the older
`SIGI_STATE` and `__NEXT_DATA__`; photo posts and video covers; the accounts they name
(docs/feed-shapes.md, TikTok; gdl `tiktok.py`, ytdlp `tiktok.py`, TikTok-Api).

An item: `id`, `desc`, `author` (`{uniqueId, nickname, avatarThumb}`, or in `SIGI_STATE` the
uniqueId alone), `imagePost.images[].imageURL.urlList[]` (mirrors of one image), `video
{cover, originCover, dynamicCover}`, and some covers at the item's root.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, strings, text

ACCOUNT_URL = "https://www.tiktok.com/@{}"
_COVERS = ("cover", "originCover", "dynamicCover")
_AVATARS = ("avatarThumb", "avatarMedium", "avatarLarger")


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _item(node)
    yield from _account(node)


def _item(node: dict) -> Iterator[tuple[str, Fields]]:
    item_id = text(node.get("id"), 64)
    if item_id is None or not any(key in node for key in ("imagePost", "video", *_COVERS)):
        return
    author = node.get("author")
    if isinstance(author, dict):
        handle, name = author.get("uniqueId"), author.get("nickname")
    else:
        handle, name = author, node.get("nickname")
    if text(handle) is None:
        return  # not an item (a music, a challenge): they have covers too, and no author
    kind = "photo" if isinstance(node.get("imagePost"), dict) else "video"
    fields = post(handle, ACCOUNT_URL, f"https://www.tiktok.com/@{text(handle)}/{kind}/{item_id}",
                  node.get("desc"), name)
    for image in dicts(get(node, "imagePost", "images")):
        yield from ((url, fields) for url in _url_list(image.get("imageURL")))
    yield from ((url, fields) for url in _url_list(get(node, "imagePost", "cover", "imageURL")))
    for container in (node.get("video"), node):
        for key in _COVERS:
            yield from ((url, fields) for url in _url_list(get(container, key)))


def _url_list(value: object) -> list[str]:
    """An address, a list of them, or `{urlList: [...]}` / `{url_list: [...]}` (the same image
    from several mirrors)."""
    if isinstance(value, dict):
        return strings(value.get("urlList")) or strings(value.get("url_list"))
    return strings(value)


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """An author or user (`uniqueId`, `nickname`, avatars at three sizes), or a comment's
    user in the app's snake case (`unique_id`, `avatar_thumb.url_list`; TikTok-Api `comment.py`)."""
    if isinstance(node.get("uniqueId"), str):
        handle, avatars = node["uniqueId"], _AVATARS
    elif isinstance(node.get("unique_id"), str):
        handle, avatars = node["unique_id"], ("avatar_thumb", "avatar_medium", "avatar_larger")
    else:
        return
    pictures = [url for key in avatars for url in _url_list(node.get(key))]
    yield from profile(handle, ACCOUNT_URL, pictures, node.get("nickname"))
