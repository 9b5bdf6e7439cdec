"""Pinterest: pins of resource responses (`resource_response.data`) and of the newer Relay
GraphQL (`data.v3GetPinQuery.data`, camelCase), carousels, re-pins, and the pinners seen
(docs/feed-shapes.md, Pinterest; gdl `pinterest.py`, ytdlp `pinterest.py`).

A pin: `id`, `images {"236x": {url}, …, "orig"}`, `image_signature` (the md5 of every size's
address), `pinner`, `origin_pinner` (who pinned it first: a re-pin), `native_creator`,
`closeup_attribution`, `carousel_data.carousel_slots[].images`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, reposted, strings, text

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
    yield from _account(node)


def _pin(node: dict) -> Iterator[tuple[str, Fields]]:
    pin_id = text(node.get("id"), 64) or text(node.get("entityId"), 64)
    images = node.get("images")
    signature = node.get("image_signature") or node.get("imageSignature")
    if pin_id is None or not (isinstance(images, dict) or _signed(signature)):
        return
    pinner = (_user(node, "pinner") or _user(node, "native_creator") or _user(node, "nativeCreator")
              or _user(node, "closeup_attribution"))  # ytdlp reads the pin's author there
    first = _user(node, "origin_pinner") or _user(node, "originPinner")
    fields = post(get(pinner or first, "username"), ACCOUNT_URL, f"https://www.pinterest.com/pin/{pin_id}/",
                  node.get("grid_title") or node.get("title") or node.get("gridTitle") or node.get("description"),
                  get(pinner or first, "full_name") or get(pinner or first, "fullName"))
    if pinner is not None and first is not None:
        fields = reposted(fields, "repin", first.get("username"), ACCOUNT_URL, None)
    urls = _signed(signature)
    for container in [node, *dicts(get(node, "carousel_data", "carousel_slots"))]:
        for size in dicts(container.get("images")):
            urls += strings(size.get("url"))
    for key, size in node.items():  # the newer shape: imageSpec_236x {url}, …
        if key.startswith("imageSpec") and isinstance(size, dict):
            urls += strings(size.get("url"))
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
    yield from profile(node["username"], ACCOUNT_URL, pictures, node.get("full_name") or node.get("fullName"))
