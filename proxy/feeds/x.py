"""X: the tweets of HomeTimeline, HomeLatestTimeline, UserTweets, UserMedia, TweetDetail,
SearchTimeline and TweetResultByRestId, with retweets, quotes and media re-posted from
another tweet, and the accounts they name (docs/feed-shapes.md, X; gdl
`_transform_tweet`, `_transform_user`).

A tweet result: `rest_id`, `core.user_results.result` (the author: `core.screen_name` since
about May 2025, `legacy.screen_name` before), `legacy {id_str, full_text,
extended_entities.media[], retweeted_status_result}`, `quoted_status_result` beside
`legacy`. `TweetWithVisibilityResults` holds it in `.tweet`; every object is read wherever
it sits, so the operation and its instruction paths do not matter.
"""

from __future__ import annotations

from collections.abc import Iterator

from sentinelle.proxy.feeds.common import Fields, dicts, get, post, profile, reposted, strings, text

ACCOUNT_URL = "https://x.com/{}"


def _result(value: object) -> dict | None:
    """A tweet or user result, unwrapped from `TweetWithVisibilityResults`."""
    if isinstance(value, dict) and isinstance(value.get("tweet"), dict):
        value = value["tweet"]
    return value if isinstance(value, dict) else None


def _author(tweet: dict) -> dict:
    user = _result(get(tweet, "core", "user_results", "result"))
    return user or (tweet.get("user") if isinstance(tweet.get("user"), dict) else {})


def handle(user: object) -> str | None:
    """A user's screen name, under `core` (newer) or `legacy` (older), or flat (v1.1)."""
    return (text(get(user, "core", "screen_name")) or text(get(user, "legacy", "screen_name"))
            or text(get(user, "screen_name")))


def _name(user: object) -> str | None:
    return text(get(user, "core", "name")) or text(get(user, "legacy", "name")) or text(get(user, "name"))


def _legacy(tweet: dict) -> dict:
    legacy = tweet.get("legacy")
    return legacy if isinstance(legacy, dict) and ("core" in tweet or "rest_id" in tweet) else tweet


def _tweet_id(tweet: dict) -> str | None:
    return text(tweet.get("rest_id")) or text(_legacy(tweet).get("id_str"))


def _status(user_handle: str | None, tweet_id: str | None) -> str | None:
    return f"https://x.com/{user_handle}/status/{tweet_id}" if user_handle and tweet_id else None


def _media(tweet: dict) -> list[dict]:
    legacy = _legacy(tweet)
    return dicts(get(legacy, "extended_entities", "media")) or dicts(get(legacy, "entities", "media"))


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _tweet(node)
    yield from _account(node)


def _tweet(node: dict) -> Iterator[tuple[str, Fields]]:
    tweet_id = _tweet_id(node)
    legacy = _legacy(node)
    if tweet_id is None or not ("legacy" in node or "id_str" in node):
        return
    author = _author(node)
    shown_by = handle(author)
    fields = post(shown_by, ACCOUNT_URL, _status(shown_by, tweet_id),
                  legacy.get("full_text") or legacy.get("text"), _name(author))
    retweeted = _result(get(legacy, "retweeted_status_result", "result")) or _result(legacy.get("retweeted_status"))
    if retweeted is not None:
        first = handle(_author(retweeted))
        as_retweet = reposted(fields, "retweet", first, ACCOUNT_URL, _status(first, _tweet_id(retweeted)))
        as_retweet["caption"] = text(_legacy(retweeted).get("full_text")) or fields["caption"]
        yield from _images(_media(retweeted) or _media(node), as_retweet)
        return
    yield from _images(_media(node), fields)
    quoted = _result(get(node, "quoted_status_result", "result"))
    if quoted is not None:
        first = handle(_author(quoted))
        yield from _images(_media(quoted), reposted(fields, "quote", first, ACCOUNT_URL, _status(first, _tweet_id(quoted))))


def _images(media: list[dict], fields: Fields) -> Iterator[tuple[str, Fields]]:
    for item in media:
        source = _result(get(item, "additional_media_info", "source_user", "user_results", "result"))
        source_handle = handle(source)
        these = fields
        if source_handle and fields.get("repost") is None:  # media re-posted from another tweet
            these = reposted(fields, "media", source_handle, ACCOUNT_URL,
                             _status(source_handle, text(item.get("source_status_id_str"))))
        for url in strings(item.get("media_url_https")) or strings(item.get("media_url")):
            yield url, these


def _account(node: dict) -> Iterator[tuple[str, Fields]]:
    """A user result (or a v1.1 user): its avatar. A tweet has no screen name of its own."""
    user_handle = handle(node)
    if user_handle is None:
        return
    pictures = (strings(get(node, "avatar", "image_url")) + strings(get(node, "legacy", "profile_image_url_https"))
                + strings(node.get("profile_image_url_https")))
    yield from profile(user_handle, ACCOUNT_URL, pictures, _name(node))
