"""TikTok: the items of `…/item_list/` APIs, of a page's rehydration JSON, of the older
`SIGI_STATE` and `__NEXT_DATA__`; photo posts and video covers; the sounds' covers; the
accounts they name (docs/feed-shapes.md, TikTok; gdl `tiktok.py`, ytdlp `tiktok.py`,
TikTok-Api).

An item: `id`, `desc`, `author` (`{id, uniqueId, nickname, avatarThumb}`, or in `SIGI_STATE`
the uniqueId alone, with `authorId`), `imagePost.images[].imageURL.urlList[]` (mirrors of one
image), `video {cover, originCover, dynamicCover, zoomCover}`, some covers at the item's root,
and its sound, `music {id, title, authorName, original, coverThumb, coverMedium, coverLarge}`
(TikTok-Api `sound.py`): the sound's cover is its creator's picture. A sound names its creator
by name only (`authorName`); where that is the item's author's name and the sound is the
item's own (`original`), it is the author's picture; a sound's page (`musicInfo {music,
author}`) names the creator. Otherwise the cover keeps the creator's name and the sound's
page, without an account. A page's older `$user {uid, uniqueId, nickName, avatarUri[]}`
(tiktok-scraper `getUserProfileInfo`) is an account with its pictures. The web's older items
(2019–20, tiktok-scraper's `itemListData[]`): `itemInfos {id, text, covers[], coversOrigin[],
coversDynamic[]}`, `authorInfos {userId, uniqueId, nickName, covers[], coversMedium[],
coversLarger[]}`, `musicInfos {musicId, musicName, authorName, original, covers[]…}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sentinelle.proxy.feeds.common import PROFILE_PICTURE, Fields, dicts, get, identifier, post, profile, strings, text

ACCOUNT_URL = "https://www.tiktok.com/@{}"
_COVERS = ("cover", "originCover", "dynamicCover", "reflowCover", "shareCover")
_AVATARS = ("avatarThumb", "avatarMedium", "avatarLarger", "avatarUri", "covers", "coversMedium", "coversLarger")
_SOUND_COVERS = ("coverThumb", "coverMedium", "coverLarge", "cover_thumb", "cover_medium", "cover_large",
                 "covers", "coversMedium", "coversLarger")
_SLUG = re.compile(r"[^0-9a-z]+")


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _item(node)
    yield from _older_item(node)
    yield from _sound_page(node)
    yield from _account(node)


def _older_item(node: dict) -> Iterator[tuple[str, Fields]]:
    """An item as the web sent it in 2019–20: `itemInfos`, `authorInfos`, `musicInfos`."""
    item, author = node.get("itemInfos"), node.get("authorInfos")
    if not isinstance(item, dict) or not isinstance(author, dict) or not text(author.get("uniqueId")):
        return
    item_id, handle = text(item.get("id"), 64), text(author.get("uniqueId"))
    fields = post(handle, ACCOUNT_URL, f"https://www.tiktok.com/@{handle}/video/{item_id}" if item_id else None,
                  item.get("text"), author.get("nickName"), author.get("userId") or item.get("authorId"))
    for key in ("covers", "coversOrigin", "coversDynamic"):
        yield from ((url, fields) for url in _url_list(item.get(key)))
    music = node.get("musicInfos")
    if isinstance(music, dict):
        own = _own(music.get("original"), music.get("authorName"), author.get("nickName"))
        sound = {"id": music.get("musicId"), "title": music.get("musicName"), "authorName": music.get("authorName"),
                 **{key: music.get(key) for key in ("covers", "coversMedium", "coversLarger")}}
        yield from _sound(sound, (handle, author.get("nickName"), author.get("userId")) if own else None)


def _item(node: dict) -> Iterator[tuple[str, Fields]]:
    item_id = text(node.get("id"), 64)
    if item_id is None or not any(key in node for key in ("imagePost", "video", *_COVERS)):
        return
    author = node.get("author")
    if isinstance(author, dict):
        handle, name, author_id = author.get("uniqueId"), author.get("nickname"), author.get("id")
    else:
        handle, name, author_id = author, node.get("nickname"), node.get("authorId")
    if text(handle) is None:
        return  # not an item (a music, a challenge): they have covers too, and no author
    kind = "photo" if isinstance(node.get("imagePost"), dict) else "video"
    fields = post(handle, ACCOUNT_URL, f"https://www.tiktok.com/@{text(handle)}/{kind}/{item_id}",
                  node.get("desc"), name, author_id)
    for image in dicts(get(node, "imagePost", "images")):
        yield from ((url, fields) for url in _url_list(image.get("imageURL")))
    yield from ((url, fields) for url in _url_list(get(node, "imagePost", "cover", "imageURL")))
    for container in (node.get("video"), node):
        for key in _COVERS:
            yield from ((url, fields) for url in _url_list(get(container, key)))
    for url in _url_list(get(node, "video", "zoomCover")):
        yield url, fields
    music = node.get("music")
    if isinstance(music, dict):
        yield from _sound(music, (handle, name, author_id) if _own(music.get("original"), music.get("authorName"), name) else None)


def _own(original: object, sound_author: object, item_author: object) -> bool:
    """Whether a sound is the item's author's own: original, and by the author's very name."""
    name = text(sound_author)
    return original in (True, "true") and name is not None and name == text(item_author)


def _sound_page(node: dict) -> Iterator[tuple[str, Fields]]:
    """A sound's page (`musicInfo {music, author}`): the cover is the named creator's picture.
    Only under `musicInfo`: an item's `author` is the video's, not the sound's."""
    music, author = get(node, "musicInfo", "music"), get(node, "musicInfo", "author")
    if isinstance(music, dict) and isinstance(author, dict):
        yield from _sound(music, (author.get("uniqueId"), author.get("nickname"), author.get("id")))


def _sound(music: dict, creator: tuple[object, object, object] | None) -> Iterator[tuple[str, Fields]]:
    """A sound's cover: its creator's picture, named by handle when `creator` is known, else by
    the name the sound gives, with the sound's page."""
    covers = [url for key in _SOUND_COVERS for url in _url_list(music.get(key))]
    if not covers:
        return
    if creator is not None and text(creator[0]):
        handle, name, creator_id = creator
        fields = post(handle, ACCOUNT_URL, ACCOUNT_URL.format(text(handle)), None, name, creator_id)
    else:
        music_id, title = identifier(music.get("id")), text(music.get("title")) or ""
        page = f"https://www.tiktok.com/music/{_SLUG.sub('-', title.lower()).strip('-') or 'sound'}-{music_id}" \
            if music_id else None
        fields = post(None, ACCOUNT_URL, page, None, music.get("authorName"))
    fields["shown_as"] = PROFILE_PICTURE
    yield from ((url, fields) for url in covers)


def _url_list(value: object) -> list[str]:
    """An address, a list of them, a dict of sizes (`zoomCover`), or `{urlList: [...]}` /
    `{url_list: [...]}` (the same image from several mirrors)."""
    if isinstance(value, dict):
        listed = strings(value.get("urlList")) or strings(value.get("url_list"))
        return listed or [url for v in value.values() for url in strings(v) if url.startswith(("https://", "http://"))]
    return strings(value)


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """An author or user (`uniqueId`, `nickname`, avatars at three sizes; a page's older
    `$user` with `avatarUri[]` and `nickName`), or a comment's or search result's user in the
    app's snake case (`unique_id`, `avatar_thumb.url_list`; TikTok-Api `comment.py`)."""
    avatars: tuple[str, ...]
    if isinstance(node.get("uniqueId"), str):
        handle, avatars, name = node["uniqueId"], _AVATARS, node.get("nickname") or node.get("nickName")
    elif isinstance(node.get("unique_id"), str):
        handle, avatars, name = node["unique_id"], ("avatar_thumb", "avatar_medium", "avatar_larger"), node.get("nickname")
    else:
        return
    pictures = [url for key in avatars for url in _url_list(node.get(key))]
    yield from profile(handle, ACCOUNT_URL, pictures, name, node.get("id") or node.get("uid") or node.get("userId"))
