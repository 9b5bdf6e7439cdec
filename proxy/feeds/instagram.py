"""Instagram: REST items and carousels, `xdt` GraphQL nodes, the older GraphQL nodes, and the
accounts of profiles, search results and posts (docs/feed-shapes.md, Instagram).

A media (gdl `_parse_post_rest`, IL `from_iphone_struct`): `code`, `pk`, `user`|`owner`,
`caption.text`, `image_versions2.candidates[].url`, `carousel_media[]`. An older GraphQL node
(gdl `_parse_post_graphql`): `shortcode`, `display_url`, `display_resources[].src`, `owner`,
`edge_media_to_caption`, `edge_sidecar_to_children`. Where they sit (the xdt home feed, the
profile grid, REST feeds, a post page's embedded JSON) does not matter: every object is read.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, strings, text

ACCOUNT_URL = "https://www.instagram.com/{}/"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


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
    yield from _account(node)


def _media(node: dict) -> Iterator[tuple[str, Fields]]:
    user = node.get("user") if isinstance(node.get("user"), dict) else node.get("owner")
    code = text(node.get("code"), 64) or text(node.get("shortcode"), 64)
    if code is not None:
        kind = "reel" if node.get("product_type") == "clips" else "p"
        post_url = f"https://www.instagram.com/{kind}/{code}/"
    elif isinstance(node.get("image_versions2"), dict) and (code := shortcode(node.get("pk") or node.get("id"))):
        # A story item carries no code: its address is the story's, else the post its id makes.
        pk, username = str(node.get("pk") or node.get("id")).split("_", 1)[0], text(get(user, "username"))
        post_url = (f"https://www.instagram.com/stories/{username}/{pk}/" if username
                    else f"https://www.instagram.com/p/{code}/")
    else:
        return
    fields = post(
        get(user, "username"), ACCOUNT_URL, post_url,
        get(node, "caption", "text") or get(node, "edge_media_to_caption", "edges", 0, "node", "text"),
        get(user, "full_name"),
    )
    media = [node, *dicts(node.get("carousel_media"))]
    media += [edge["node"] for edge in dicts(get(node, "edge_sidecar_to_children", "edges"))
              if isinstance(edge.get("node"), dict)]
    for item in media:
        for candidate in dicts(get(item, "image_versions2", "candidates")):
            yield from ((url, fields) for url in strings(candidate.get("url")))
        for resource in dicts(item.get("display_resources")):
            yield from ((url, fields) for url in strings(resource.get("src")))
        for key in ("display_url", "thumbnail_src"):
            yield from ((url, fields) for url in strings(item.get(key)))


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """A user (a post's author, a profile, a search result): its profile picture at every size."""
    if not isinstance(node.get("username"), str):
        return
    pictures = strings(node.get("profile_pic_url")) + strings(node.get("profile_pic_url_hd"))
    pictures += strings(get(node, "hd_profile_pic_url_info", "url"))
    pictures += [url for v in dicts(node.get("hd_profile_pic_versions")) for url in strings(v.get("url"))]
    yield from profile(node["username"], ACCOUNT_URL, pictures, node.get("full_name"))
