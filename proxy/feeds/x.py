"""X: the tweets of HomeTimeline, HomeLatestTimeline, UserTweets, UserMedia, TweetDetail,
SearchTimeline and TweetResultByRestId, with retweets, quotes and media re-posted from
another tweet, and the accounts they name (docs/feed-shapes.md, X; gdl
`_transform_tweet`, `_transform_user`).

A tweet result: `rest_id`, `core.user_results.result` (the author: `core.screen_name` since
about May 2025, `legacy.screen_name` before; `rest_id` its id), `legacy {id_str, full_text,
extended_entities.media[], retweeted_status_result}`, `quoted_status_result` beside
`legacy`; a link's card `card.legacy.binding_values[].value.image_value.url` and an article's
cover `article.article_results.result.cover_media.media_info.original_img_url`, both shown by
the tweet's author (gdl `_extract_card`, twscrape `_parse_card`; articles as the captures in
../shared/datasets/feeds/x/ show them). The author may sit in `author_results` instead of
`core.user_results` (twscrape `_get_tweet_user_obj`). `TweetWithVisibilityResults`
holds it in `.tweet`; every object is read wherever it sits, so the operation and its
instruction paths do not matter. A user result shows its avatar (`avatar.image_url`,
`legacy.profile_image_url_https`) and banner (`banner.image_url`,
`legacy.profile_banner_url`), and its affiliation's badge (`affiliates_highlighted_label.label`:
the organisation's picture, `url.url` its account).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

from sentinelle.proxy.feeds.common import Fields, dicts, get, identifier, post, profile, reposted, strings, text

ACCOUNT_URL = "https://x.com/{}"


def _result(value: object) -> dict | None:
    """A tweet or user result, unwrapped from `TweetWithVisibilityResults`."""
    if isinstance(value, dict) and isinstance(value.get("tweet"), dict):
        value = value["tweet"]
    return value if isinstance(value, dict) else None


def _author(tweet: dict) -> dict:
    user = _result(get(tweet, "core", "user_results", "result")) or _result(get(tweet, "author_results", "result"))
    return user or (legacy if isinstance(legacy := tweet.get("user"), dict) else {})


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


def _shown(tweet: dict) -> list[str]:
    """The images a tweet shows besides its media: its link's card (an app's or a website's
    card in `unified_card`, JSON in a string), its article's cover and pictures."""
    card = get(tweet, "card", "legacy") or get(_legacy(tweet), "card")
    urls = []
    for value in dicts(get(card, "binding_values")):
        urls += strings(get(value, "value", "image_value", "url"))
        if value.get("key") == "unified_card":
            urls += _unified_card(get(value, "value", "string_value"))
    article = get(tweet, "article", "article_results", "result")
    for media in [get(article, "cover_media"), *dicts(get(article, "media_entities"))]:
        urls += strings(get(media, "media_info", "original_img_url"))
    return urls


def _unified_card(value: object) -> list[str]:
    """The images of a unified card: `media_entities.<id>.media_url_https`."""
    try:
        card = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):
        return []
    return [url for media in dicts(get(card, "media_entities")) for url in strings(media.get("media_url_https"))]


def _user_id(user: object) -> str | None:
    return identifier(get(user, "rest_id")) or identifier(get(user, "legacy", "id_str")) or identifier(get(user, "id_str"))


def read(node: dict) -> Iterator[tuple[str, Fields]]:
    yield from _tweet(node)
    yield from _account(node)
    yield from _banner(node)


def _banner(node: dict) -> Iterator[tuple[str, Fields]]:
    """A list's or a community's banner (`custom_banner_media`, `default_banner_media`), shown by
    the account that owns it (`user_results`, `creator_results`; gdl `TwitterListExtractor`)."""
    urls = [url for key in ("custom_banner_media", "default_banner_media")
            for url in strings(get(node, key, "media_info", "original_img_url"))]
    owner = next((_result(get(node, key, "result")) for key in ("user_results", "creator_results")
                  if _result(get(node, key, "result"))), None)
    owner_handle = handle(owner)
    if not urls or owner_handle is None:
        return
    page: str | None
    if node.get("__typename") == "Community" and (community := identifier(node.get("rest_id"))):
        page = f"https://x.com/i/communities/{community}"
    else:
        page = f"https://x.com/i/lists/{list_id}" if (list_id := identifier(node.get("id_str"))) else None
    yield from ((url, post(owner_handle, ACCOUNT_URL, page, node.get("name"), _name(owner), _user_id(owner)))
                for url in urls)


def _tweet(node: dict) -> Iterator[tuple[str, Fields]]:
    tweet_id = _tweet_id(node)
    legacy = _legacy(node)
    if tweet_id is None or not ("legacy" in node or "id_str" in node):
        return
    author = _author(node)
    shown_by = handle(author)
    fields = post(shown_by, ACCOUNT_URL, _status(shown_by, tweet_id),
                  legacy.get("full_text") or legacy.get("text"), _name(author),
                  _user_id(author) or legacy.get("user_id_str"))
    retweeted = _result(get(legacy, "retweeted_status_result", "result")) or _result(legacy.get("retweeted_status"))
    if retweeted is not None:
        first = handle(_author(retweeted))
        as_retweet = reposted(fields, "retweet", first, ACCOUNT_URL, _status(first, _tweet_id(retweeted)))
        as_retweet["caption"] = text(_legacy(retweeted).get("full_text")) or fields["caption"]
        yield from _images(_media(retweeted) or _media(node), as_retweet)
        yield from ((url, as_retweet) for url in _shown(retweeted) or _shown(node))
        return
    yield from _images(_media(node), fields)
    yield from ((url, fields) for url in _shown(node))
    quoted = _result(get(node, "quoted_status_result", "result"))
    if quoted is not None:
        first = handle(_author(quoted))
        as_quote = reposted(fields, "quote", first, ACCOUNT_URL, _status(first, _tweet_id(quoted)))
        yield from _images(_media(quoted), as_quote)
        yield from ((url, as_quote) for url in _shown(quoted))


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
    """A user result (or a v1.1 user): its avatar and banner. A tweet has no screen name of its own."""
    yield from _badge(node)
    user_handle = handle(node)
    if user_handle is None:
        return
    pictures = [url for path in (("avatar", "image_url"), ("legacy", "profile_image_url_https"),
                                 ("profile_image_url_https",), ("banner", "image_url"),
                                 ("legacy", "profile_banner_url"), ("profile_banner_url",))
                for url in strings(get(node, *path))]
    yield from profile(user_handle, ACCOUNT_URL, pictures, _name(node), _user_id(node))


def _badge(node: dict) -> Iterator[tuple[str, Fields]]:
    """An affiliation's badge: the organisation's own picture, its account in the label's link."""
    label = get(node, "affiliates_highlighted_label", "label")
    link = text(get(label, "url", "url"))
    if not link:
        return
    split = urlsplit(link)
    path = [part for part in split.path.split("/") if part]
    if split.hostname in ("twitter.com", "x.com", "www.twitter.com", "www.x.com") and len(path) == 1:
        yield from profile(path[0], ACCOUNT_URL, strings(get(label, "badge", "url")), get(label, "description"))
