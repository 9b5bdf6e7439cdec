"""Snapchat (barely documented): Spotlight stories of a page's `__NEXT_DATA__`
(`props.pageProps.spotlightFeed.spotlightStories[]`; docs/feed-shapes.md, Snapchat;
ytdlp `snapchat.py`): `story.storyId.value`, `metadata.videoMetadata {thumbnailUrl, name,
description, creator.personCreator {username, url}}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, get, post, strings, text

ACCOUNT_URL = "https://www.snapchat.com/add/{}"


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    video = get(node, "metadata", "videoMetadata")
    if not isinstance(video, dict):
        return
    story_id = text(get(node, "story", "storyId", "value"), 200)
    creator = get(video, "creator", "personCreator")
    fields = post(get(creator, "username"), ACCOUNT_URL,
                  f"https://www.snapchat.com/spotlight/{story_id}" if story_id else None,
                  video.get("description") or video.get("name") or get(node, "metadata", "description"))
    for url in strings(video.get("thumbnailUrl")):
        yield url, fields
