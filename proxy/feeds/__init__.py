"""The feed readers, one module a platform: each reads one JSON object of a feed and yields
the images it names, with who showed them, who posted them first, and the accounts it saw
(their profile pictures). `READERS` maps a platform to its reader; proxy/feeds/attribution.py
walks a body's JSON and hands each object to it. `PAGE_READERS` read what a platform carries
in a page's HTML itself rather than in JSON (Facebook's mobile pages): each takes the page's
text and yields (image address, fields, the record that named it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sentinelle.proxy.feeds import facebook, facebook_pages, instagram, pinterest, reddit, snapchat, tiktok, x
from sentinelle.proxy.feeds.common import Fields

READERS: dict[str, Callable[[dict], Iterator[tuple[str, Fields]]]] = {
    "instagram": instagram.read, "x": x.read, "tiktok": tiktok.read, "reddit": reddit.read,
    "pinterest": pinterest.read, "facebook": facebook.read, "snapchat": snapchat.read,
}

PAGE_READERS: dict[str, Callable[[str], Iterator[tuple[str, Fields, str]]]] = {
    "facebook": facebook_pages.read_page,
}
