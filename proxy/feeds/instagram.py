"""Instagram: REST items and carousels, `xdt` GraphQL nodes, the older GraphQL nodes, stories,
and the accounts of profiles, search results and posts (docs/feed-shapes.md, Instagram).

A media (gdl `_parse_post_rest`, IL `from_iphone_struct`): `code`, `pk`, `user`|`owner`,
`caption.text`, `image_versions2.candidates[].url` (a video's first frames in
`image_versions2.additional_candidates`, its frames in `thumbnails.sprite_urls[]`),
`carousel_media[]`. An older GraphQL node (gdl `_parse_post_graphql`): `shortcode`,
`display_url`, `display_resources[].src`, `thumbnail_resources[].src`, `owner`,
`edge_media_to_caption`, `edge_sidecar_to_children`. Hashtag, location and IGTV grids
(`edge_hashtag_to_media`, `edge_location_to_media`, `edge_felix_video_timeline`) give the
owner's id alone: the post is known, its account by id until a feed ties the id to a handle.

Stories (gdl `stories_reel`, IL `StoryItem`): REST `reels_media[].items[]` (a media without a
`code`), GraphQL `reels_media[]` (`__typename` GraphReel) whose `items[]` (GraphStoryImage,
GraphStoryVideo) have `display_url`, `display_resources`, `owner`, `taken_at_timestamp`,
`expiring_at_timestamp`; the reel's `owner`|`user` names the account where an item does not.
Highlights (stories kept on a profile; IL `Highlight`, gdl `highlights`): a highlight's cover
(`cover_media.thumbnail_src`, `cover_media.cropped_image_version.url`,
`cover_media_cropped_thumbnail.url`) is its owner's (`owner`|`user`).
Where these sit (the xdt home feed, the profile grid, REST feeds, a post page's embedded JSON)
does not matter: every object is read.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, identifier, post, profile, story, strings, text, when

ACCOUNT_URL = "https://www.instagram.com/{}/"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The path a post's address takes, by the media's product type; a photo's is `p`.
_KINDS: dict[object, str] = {"clips": "reel", "igtv": "tv"}  # looked up by whatever the JSON holds
# A video's still frames, beside its cover.
_FRAMES = ("first_frame", "igtv_first_frame", "smart_frame")


def shortcode(pk: object) -> str | None:
    """A post's code from its numeric id (base 64 in Instagram's alphabet, gdl `shortcode_from_id`)."""
    if isinstance(pk, str):
        pk = pk.split("_", 1)[0]
        if not pk.isdigit():
            return None
        pk = int(pk)
    if not isinstance(pk, int) or isinstance(pk, bool) or pk <= 0:
        return None
    code = ""
    while pk:
        pk, digit = divmod(pk, 64)
        code = _ALPHABET[digit] + code
    return code


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _media(node)
    yield from _reel(node)
    yield from _highlight(node)
    yield from _account(node)


def _highlight(node: dict) -> Iterator[tuple[str, Fields]]:
    """A highlight's cover, its owner's."""
    user = _owner(node)
    covers = strings(get(node, "cover_media", "thumbnail_src")) + strings(get(node, "cover_media_cropped_thumbnail", "url"))
    covers += strings(get(node, "cover_media", "cropped_image_version", "url"))
    highlight = str(node.get("id") or "").removeprefix("highlight:")
    if user is None or not covers or not highlight.isdigit():
        return
    fields = post(get(user, "username"), ACCOUNT_URL, f"https://www.instagram.com/stories/highlights/{highlight}/",
                  node.get("title"), get(user, "full_name"), _owner_id(user))
    yield from ((url, fields) for url in covers)


def _owner(node: dict) -> dict | None:
    user = node.get("user") if isinstance(node.get("user"), dict) else node.get("owner")
    return user if isinstance(user, dict) else None


def _owner_id(user: object) -> str | None:
    return identifier(get(user, "pk")) or identifier(get(user, "id")) or identifier(get(user, "pk_id"))


def _is_story(node: dict) -> bool:
    typename = node.get("__typename")
    return (isinstance(typename, str) and typename.startswith(("GraphStory", "XDTGraphStory"))) \
        or any(key in node for key in ("expiring_at", "expiring_at_timestamp")) or node.get("product_type") == "story"


def _has_images(node: dict) -> bool:
    return isinstance(node.get("image_versions2"), dict) or isinstance(node.get("display_url"), str) \
        or isinstance(node.get("display_resources"), list)


def _media(node: dict, reel_owner: dict | None = None) -> Iterator[tuple[str, Fields]]:
    """A post or a story item, its carousel's images with it; `reel_owner`: the account (and the
    expiry) of the reel of stories the item came in."""
    user = _owner(node)
    if not text(get(user, "username")) and reel_owner is not None:
        user = reel_owner
    username = text(get(user, "username"))
    code = text(node.get("code"), 64) or text(node.get("shortcode"), 64)
    pk = str(node.get("pk") or node.get("id") or "").split("_", 1)[0]
    is_story = reel_owner is not None or _is_story(node)
    if is_story:
        # A story's address is the story's (by the handle), not a post's.
        if not (pk.isdigit() and _has_images(node)):
            return
        post_url = f"https://www.instagram.com/stories/{username}/{pk}/" if username else None
    elif code is not None:
        post_url = f"https://www.instagram.com/{_KINDS.get(node.get('product_type'), 'p')}/{code}/"
    elif isinstance(node.get("image_versions2"), dict) and (code := shortcode(pk)):
        post_url = f"https://www.instagram.com/p/{code}/"  # an item without its code: the one its id makes
    else:
        return
    fields = post(
        username, ACCOUNT_URL, post_url,
        get(node, "caption", "text") or get(node, "edge_media_to_caption", "edges", 0, "node", "text"),
        get(user, "full_name"), _owner_id(user),
    )
    if is_story:
        posted = when(node.get("taken_at_timestamp")) or when(node.get("taken_at"))
        expires = (when(node.get("expiring_at_timestamp")) or when(node.get("expiring_at"))
                   or when(get(reel_owner, "expiring_at")))
        fields = story(fields, posted, expires)
    media = [node, *dicts(node.get("carousel_media"))]
    media += [edge["node"] for edge in dicts(get(node, "edge_sidecar_to_children", "edges"))
              if isinstance(edge.get("node"), dict)]
    for item in media:
        yield from ((url, fields) for url in _images(item))


def _images(item: dict) -> list[str]:
    """Every address of a media's image: its sizes, and a video's cover, first frames and frames."""
    urls = [url for candidate in dicts(get(item, "image_versions2", "candidates")) for url in strings(candidate.get("url"))]
    urls += [url for frame in _FRAMES for url in strings(get(item, "image_versions2", "additional_candidates", frame, "url"))]
    urls += strings(get(item, "thumbnails", "sprite_urls"))
    for key in ("display_resources", "thumbnail_resources"):
        urls += [url for resource in dicts(item.get(key)) for url in strings(resource.get("src"))]
    for key in ("display_url", "thumbnail_src", "thumbnail_url"):
        urls += strings(item.get(key))
    return urls


def _reel(node: dict) -> Iterator[tuple[str, Fields]]:
    """A reel of stories (`reels_media[]`): its items, named by the reel's owner where they are not."""
    owner = _owner(node)
    items = dicts(node.get("items"))
    if owner is None or not items or not any(key in node for key in ("expiring_at", "latest_reel_media", "reel_type")):
        return
    reel_owner = owner | {"expiring_at": node.get("expiring_at")}
    for item in items:
        yield from _media(item, reel_owner)


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """A user (a post's author, a profile, a search result): its profile picture at every size."""
    if not isinstance(node.get("username"), str):
        return
    pictures = strings(node.get("profile_pic_url")) + strings(node.get("profile_pic_url_hd"))
    pictures += strings(get(node, "hd_profile_pic_url_info", "url"))
    pictures += [url for v in dicts(node.get("hd_profile_pic_versions")) for url in strings(v.get("url"))]
    yield from profile(node["username"], ACCOUNT_URL, pictures, node.get("full_name"), _owner_id(node))
