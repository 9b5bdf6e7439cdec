"""Pinterest: pins of resource responses (`resource_response.data`) and of the newer Relay
GraphQL (`data.v3GetPinQuery.data`, camelCase), carousels, re-pins, and the pinners seen
(docs/feed-shapes.md, Pinterest; gdl `pinterest.py`, ytdlp `pinterest.py`).

A pin: `id`, `images {"236x": {url}, …, "orig"}`, `image_signature` (the md5 of every size's
address), `pinner`, `origin_pinner` (who pinned it first: a re-pin), `native_creator`,
`closeup_attribution`, `carousel_data.carousel_slots[].images`; a video pin's frames
`videos.video_list.<format>.thumbnail`; an idea pin's pages (`story_pin_data` /
`storyPinData.pages[]`, their `imageSpec_orig`, `imageAdjustedSpec_orig` and blocks' images).

A board (`type: board`, in `initialReduxState.boards.<id>`, `BoardsFeedResource`, and as
`pin.board`): `url` (`/<owner>/<slug>/`), `owner`, and the covers its owner's pins make:
`images {"170x": [{url}, …]}` (a list of the latest pins), `image_cover_url`,
`image_cover_hd_url`, `image_thumbnail_url`, `cover_images.<size>.url`, `cover_pin.image_url`
(gdl `pinterest.py`). The account is the board's owner, from `owner` or else the
board's address.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, reposted, strings, text
from sentinelle.proxy.feeds.image_keys import parts

ACCOUNT_URL = "https://www.pinterest.com/{}/"
_SIGNATURE = "0123456789abcdef"


def _signed(signature: object) -> list[str]:
    """The original's address from an image signature: every size of it has the same key."""
    s = text(signature, 64)
    if s is None or len(s) != 32 or any(c not in _SIGNATURE for c in s):
        return []
    return [f"https://i.pinimg.com/originals/{s[:2]}/{s[2:4]}/{s[4:6]}/{s}.jpg"]


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _pin(node)
    yield from _board(node)
    yield from _account(node)


def _pin(node: dict) -> Iterator[tuple[str, Fields]]:
    pin_id = text(node.get("id"), 64) or text(node.get("entityId"), 64)
    images = node.get("images")
    signature = node.get("image_signature") or node.get("imageSignature")
    if pin_id is None or node.get("type") == "board" or not (isinstance(images, dict) or _signed(signature)):
        return
    pinner = (_user(node, "pinner") or _user(node, "native_creator") or _user(node, "nativeCreator")
              or _user(node, "closeup_attribution"))  # ytdlp reads the pin's author there
    first = _user(node, "origin_pinner") or _user(node, "originPinner")
    fields = post(get(pinner or first, "username"), ACCOUNT_URL, f"https://www.pinterest.com/pin/{pin_id}/",
                  node.get("grid_title") or node.get("title") or node.get("gridTitle") or node.get("description"),
                  get(pinner or first, "full_name") or get(pinner or first, "fullName"),
                  get(pinner or first, "id") or get(pinner or first, "entityId"))
    if pinner is not None and first is not None:
        fields = reposted(fields, "repin", first.get("username"), ACCOUNT_URL, None)
    urls = _signed(signature)
    for container in [node, *dicts(get(node, "carousel_data", "carousel_slots"))]:
        for size in dicts(container.get("images")):
            urls += strings(size.get("url"))
    for key, size in node.items():  # the newer shape: imageSpec_236x {url}, …
        if key.startswith("imageSpec") and isinstance(size, dict):
            urls += strings(size.get("url"))
    for video in dicts(get(node, "videos", "video_list")):
        urls += strings(video.get("thumbnail"))
    for pages in (get(node, "story_pin_data", "pages"), get(node, "storyPinData", "pages")):
        urls += _pinned_images(pages)
    yield from ((url, fields) for url in urls)


def _pinned_images(value: object, depth: int = 0) -> list[str]:
    """The images of an idea pin's pages, wherever in a page they sit: every `url` (or video
    `thumbnail`) on Pinterest's image servers."""
    if depth > 8:
        return []
    if isinstance(value, list):
        return [url for item in value for url in _pinned_images(item, depth + 1)]
    if not isinstance(value, dict):
        return []
    found = [url for key in ("url", "thumbnail", "image_url") for url in strings(value.get(key))
             if parts(url)[0].endswith("pinimg.com")]
    return found + [url for item in value.values() if isinstance(item, (dict, list))
                    for url in _pinned_images(item, depth + 1)]


def _board(node: dict) -> Iterator[tuple[str, Fields]]:
    """A board's covers: images of its owner's pins, shown by the owner."""
    address = text(node.get("url"))
    if node.get("type") != "board" or not address or not address.startswith("/"):
        return
    owner = found if isinstance(found := node.get("owner"), dict) else {}
    handle = text(owner.get("username")) or next((part for part in address.split("/") if part), None)
    fields = post(handle, ACCOUNT_URL, f"https://www.pinterest.com{address}", node.get("name"),
                  owner.get("full_name"), owner.get("id"))
    urls = [url for key in ("image_cover_url", "image_cover_hd_url", "image_thumbnail_url")
            for url in strings(node.get(key))]
    urls += strings(get(node, "cover_pin", "image_url"))
    for size in dicts(node.get("cover_images")):
        urls += strings(size.get("url"))
    images = node.get("images")
    for size in images.values() if isinstance(images, dict) else ():  # each size a list of pins' images
        urls += [url for image in dicts(size if isinstance(size, list) else [size]) for url in strings(image.get("url"))]
    yield from ((url, fields) for url in urls)

def _user(node: dict, key: str) -> dict | None:
    user = node.get(key)
    return user if isinstance(user, dict) and text(user.get("username")) else None


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """A pinner or profile: `username`, `full_name`, `image_*_url` at several sizes."""
    if not isinstance(node.get("username"), str) or "images" in node:
        return
    pictures = [url for key in ("image_small_url", "image_medium_url", "image_large_url", "image_xlarge_url",
                                "imageSmallUrl", "imageMediumUrl", "imageLargeUrl")
                for url in strings(node.get(key))]
    yield from profile(node["username"], ACCOUNT_URL, pictures, node.get("full_name") or node.get("fullName"),
                       node.get("id") or node.get("entityId"))
