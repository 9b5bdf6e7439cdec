"""Which image an address names, whatever its size, format and signature: one key per platform.

A feed names an image at one size (`…_n.jpg?stp=…s1080x1080&oh=…`), the browser fetches it
at another (`…s640x640&oh=…`), a minute later with another signature, from another mirror.
The part of the address that stays the same (docs/feed-shapes.md) is the key:

| platform | address | key |
| --- | --- | --- |
| Instagram, Facebook | `scontent-*.cdninstagram.com/v/t51.2885-15/<n>_<n>_<n>_n.jpg?stp=…&oh=…` | the file name |
| X | `pbs.twimg.com/media/<ID>?format=jpg&name=small`, `…/media/<ID>.jpg` | `<ID>` |
| TikTok | `p16-sign-va.tiktokcdn.com/tos-…/<32 hex>~tplv-…jpeg?x-signature=…` | the path before `~` |
| Reddit | `i.redd.it/<id>.jpg`, `preview.redd.it/<id>.jpg?s=…`, `preview.redd.it/<slug>-v0-<id>.jpg` | `<id>` |
| Pinterest | `i.pinimg.com/<236x|originals>/<aa>/<bb>/<cc>/<md5>.jpg` | the md5 |
| Snapchat | `cf-st.sc-cdn.net/d/<id>.256.IRZXSOY` | `<id>` |

`platform_key` gives that key (`"<family>:<id>"`), or None for an address of no known CDN;
`image_key`, the one key every part of Sentinelle uses (the feeds' map in memory, the alerts
in the store), falls back to host and path elsewhere. Pure functions, no I/O.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

_EXTENSION = re.compile(r"\.(jpe?g|png|webp|gif|avif|heic|heif)$", re.IGNORECASE)
# X serves a profile picture at several sizes by a suffix of its file name.
_X_AVATAR_SIZE = re.compile(r"_(normal|bigger|mini|reasonably_small|\d+x\d+)$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
# Reddit's newer preview addresses: `<slug>-v0-<id>.jpg`.
_REDDIT_SLUG = re.compile(r"^.*-v0-(?P<id>[A-Za-z0-9]+)$")


def parts(url: str) -> tuple[str, str]:
    """(lower-case host, path) of an address as feeds write it: `&amp;`-escaped, scheme-relative."""
    url = html.unescape(url.strip())
    if url.startswith("//"):
        url = "https:" + url
    try:
        split = urlsplit(url)
        return (split.hostname or "").lower(), split.path
    except ValueError:  # a malformed address (an unclosed IPv6 bracket…)
        return "", ""


def _stem(name: str) -> str:
    return _EXTENSION.sub("", name)


def _on(host: str, *domains: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def platform_key(url: str) -> str | None:
    """The stable key of an image address of a known social CDN, else None."""
    host, path = parts(url)
    if not host:
        return None
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    name = segments[-1]
    if _on(host, "cdninstagram.com", "fbcdn.net"):
        # One namespace: Instagram images are also served from instagram.f*.fna.fbcdn.net.
        return f"fbcdn:{_stem(name)}"
    if _on(host, "twimg.com"):
        if segments[0] == "media":
            return f"x:media/{_stem(name.split(':', 1)[0])}"
        if segments[0] == "profile_images":
            return "x:" + "/".join(segments[:-1] + [_X_AVATAR_SIZE.sub("", _stem(name))])
        return "x:" + "/".join(segments[:-1] + [_stem(name)])
    if _on(host, "tiktokcdn.com", "tiktokcdn-us.com", "tiktokcdn-eu.com", "tiktokv.com"):
        before = path.split("~", 1)[0]
        kept = [s for s in before.split("/") if s and s != "obj"][-2:]
        return "tiktok:" + "/".join(kept[:-1] + [_stem(kept[-1])]) if kept else None
    if _on(host, "i.redd.it", "preview.redd.it"):
        stem = _stem(name)
        if m := _REDDIT_SLUG.match(stem):
            stem = m.group("id")
        return f"reddit:{stem}"
    if _on(host, "pinimg.com"):
        stem = _stem(name)
        return f"pinterest:{stem}" if _MD5.match(stem) else "pinterest:" + "/".join(segments[1:-1] + [stem])
    if _on(host, "sc-cdn.net"):
        return f"snapchat:{name.split('.', 1)[0]}"
    return None


def image_key(url: str) -> str:
    """The image an address names, whatever its size, format and signature.

    On a social CDN, the platform's own stable key (proxy/feeds/image_keys.py: the file name on
    Instagram and Facebook, the media id on X, the part before `~` on TikTok, the id on
    Reddit, the md5 on Pinterest); elsewhere host and path, without the query and the
    file extension.
    """
    if (key := platform_key(url)) is not None:
        return key
    host, path = parts(url)
    return host + _EXTENSION.sub("", path)
