"""Reddit: posts of listings (`kind: t3`), their previews, galleries and cross-posts, and
users (`kind: t2`) with their icon (docs/feed-shapes.md, Reddit; gdl `reddit.py`
`_extract_gallery`). Without `raw_json=1` addresses carry `&amp;`: image keys unescape them.

A post's images: `url` (on i.redd.it), `preview.images[]` at every size with their
`variants` (a GIF's still frames, the blurred copies of `nsfw` and `obfuscated`; not `mp4`),
`media_metadata` (galleries), and its `thumbnail` (`b.thumbs.redditmedia.com`, the list's
small crop of it; praw `Submission.thumbnail`). `author_fullname` is the author's id (`t2_…`).

A cross-post's images are its parent's (`crosspost_parent_list[0]`): the alert names who
cross-posted it here and who posted it first. A comment (`kind: t1`) can carry images too
(`media_metadata`): its author's. A community (`kind: t5`, and a post's `sr_detail`) shows its
icon and banners (`icon_img`, `community_icon`, `banner_img`, `banner_background_image`,
`mobile_banner_image`, `header_img`): they are the community's own pictures, and it is named
`r/<name>`; a user's profile (`data.subreddit` of a `t2`, `u/<name>`) shows the user's.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, reposted, strings, text

ACCOUNT_URL = "https://www.reddit.com/user/{}/"
COMMUNITY_URL = "https://www.reddit.com/{}/"
_COMMUNITY_PICTURES = ("icon_img", "community_icon", "banner_img", "banner_background_image",
                       "mobile_banner_image", "header_img")


def _permalink(data: dict) -> str | None:
    permalink = text(data.get("permalink"))
    return f"https://www.reddit.com{permalink}" if permalink and permalink.startswith("/") else None


def _author(data: dict) -> str | None:
    author = text(data.get("author"))
    return None if author in (None, "[deleted]") else author


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _community(node)
    data = node.get("data")
    if not isinstance(data, dict):
        return
    if node.get("kind") in ("t3", "t1"):  # a post, a comment
        fields = post(_author(data), ACCOUNT_URL, _permalink(data), data.get("title") or data.get("body"))
        fields["account_id"] = text(data.get("author_fullname"), 64) if fields["account"] else None
        yield from _images(data, fields)
        for parent in dicts(data.get("crosspost_parent_list"))[:1]:
            first = _author(parent)
            yield from _images(parent, reposted(fields, "crosspost", first, ACCOUNT_URL, _permalink(parent)))
    elif node.get("kind") == "t2":
        pictures = strings(data.get("icon_img")) + strings(data.get("snoovatar_img"))
        pictures += [url for key in _COMMUNITY_PICTURES for url in strings(get(data, "subreddit", key))]
        yield from profile(data.get("name"), ACCOUNT_URL, pictures, get(data, "subreddit", "title"),
                           f"t2_{data['id']}" if text(data.get("id"), 64) else None)


def _community(node: dict) -> Iterator[tuple[str, Fields]]:
    """A community's own pictures, named `r/<name>` (a subreddit's `data`, a post's `sr_detail`)."""
    prefixed = text(node.get("display_name_prefixed"), 200)
    if prefixed is None or not prefixed.startswith("r/"):
        return
    pictures = [url for key in _COMMUNITY_PICTURES for url in strings(node.get(key))
                if url.startswith(("https://", "http://"))]
    yield from profile(prefixed, COMMUNITY_URL, pictures, node.get("title"), node.get("name"))


def _images(data: dict, fields: Fields) -> Iterator[tuple[str, Fields]]:
    for url in strings(data.get("url")):
        if url.startswith(("https://i.redd.it/", "https://preview.redd.it/", "http://i.redd.it/")):
            yield url, fields
    for url in strings(data.get("thumbnail")):  # or "self", "default", "nsfw" when it has none
        if url.startswith(("https://", "http://")):
            yield url, fields
    for image in dicts(get(data, "preview", "images")):
        for sized in [image, *_still_variants(image.get("variants"))]:
            for size in [sized.get("source"), *dicts(sized.get("resolutions"))]:
                yield from ((url, fields) for url in strings(get(size, "url")))
    for item in dicts(data.get("media_metadata")):
        for size in [item.get("s"), *dicts(item.get("p"))]:
            yield from ((url, fields) for url in strings(get(size, "u")) + strings(get(size, "gif")))


def _still_variants(variants: object) -> list[dict]:
    """A preview's variants that are images: a GIF's frames, the blurred copies; not its MP4."""
    if not isinstance(variants, dict):
        return []
    return [variant for kind, variant in variants.items() if kind != "mp4" and isinstance(variant, dict)]
