"""proxy/feeds/ on what the platforms really sent: the real captures of ../shared/datasets/feeds/
(public projects' saved responses, their sources in each folder's SOURCES.tsv), read from
there, never copied here. Each shape issue 29 found unread is read, with the account the
capture itself names; and nearly every image of the platforms' image servers in them names an
account (benchmarks/feed_census.py counts them). Skipped, saying why, without ../shared.
"""

from __future__ import annotations

import pytest

from benchmarks.feed_census import ACCOUNT, CAPTURES, captures, census, content_type
from sentinelle.proxy.feeds.attribution import Attribution, AttributionMap, parse_feed

pytestmark = pytest.mark.skipif(not captures(), reason=f"the real captures are not here ({CAPTURES})")

BY_NAME = {path.name: (platform, path) for platform, path in captures()}


def attributions(name: str) -> dict[str, Attribution]:
    platform, path = BY_NAME[name]
    return dict(parse_feed(platform, f"https://capture/{name}", content_type(path), path.read_bytes()))


def of(name: str, part: str) -> Attribution:
    """What the readers say of the one image of capture `name` whose key holds `part`."""
    found = [attribution for key, attribution in attributions(name).items() if part in key]
    assert len(found) == 1, (part, len(found))
    return found[0]


def test_instagram_stories_are_read_with_their_account_time_and_expiry():
    story = of("pgrimaud_stories.json", "100088826_248178139603068")
    assert (story.account, story.shown_as) == ("starwars", "story")
    assert story.post_url == "https://www.instagram.com/stories/starwars/2313478624923545316/"
    assert (story.posted_at, story.expires_at) == ("2020-05-20T20:56:02+00:00", "2020-05-21T20:56:02+00:00")


@pytest.mark.parametrize(("name", "part", "owner_id", "post_url"), [
    ("pgrimaud_hashtag.json", "144261939_1366236177044251", "2148106670", "https://www.instagram.com/p/CKsCopzFQH5/"),
    ("pgrimaud_igtv.json", "131362656_2505606903066845", "3171067", "https://www.instagram.com/tv/CI5JWqkFZru/"),
])
def test_instagram_grids_keep_the_owner_s_id_and_the_post(name, part, owner_id, post_url):
    post = of(name, part)
    assert (post.account, post.account_id, post.post_url) == (None, owner_id, post_url)


def test_an_id_is_named_by_another_response_that_ties_it_to_a_handle():
    """IGTV names its owner by id alone; the reels feed of the same account names her."""
    seen = AttributionMap()
    igtv = BY_NAME["pgrimaud_igtv.json"][1]
    seen.add_all(parse_feed("instagram", "u", "application/json", igtv.read_bytes()))
    image = "https://scontent-cdt1-1.cdninstagram.com/v/t51.2885-15/e35/131362656_2505606903066845_4824593546842413679_n.jpg"
    assert (seen.lookup(image).account, seen.lookup(image).account_id) == (None, "3171067")
    seen.add_all(list(attributions("pgrimaud_reels.json").items()))
    assert seen.lookup(image).account == "noholita"
    assert seen.lookup(image).post_url == "https://www.instagram.com/tv/CI5JWqkFZru/"


def test_instagram_reels_first_frames_and_sprites_are_the_reel_s():
    for part in ("278792215_5112460202130495", "278954882_1035115777085934"):  # first frame, sprite
        frame = of("pgrimaud_timeline.json", part)
        assert (frame.account, frame.post_url) == ("robertdowneyjr", "https://www.instagram.com/tv/CcqMT8_F74j/")


@pytest.mark.parametrize(("part", "post_url"), [
    ("844cfdd6d662778e04e4b172901f342e", "https://www.pinterest.com/pin/327285097913265516/"),  # also a pin of hers
    ("custom_covers/327285166609287317", "https://www.pinterest.com/idenconvey/insects-critters/"),
    ("upload/327285166609296116_board_thumbnail", "https://www.pinterest.com/idenconvey/animated-gif-klick/"),
    ("981d73877b564353e255c14b0bab3674", "https://www.pinterest.com/idenconvey/animated-gif-klick/"),  # cover_pin
])
def test_pinterest_boards_covers_are_their_owner_s(part, post_url):
    cover = of("collectora_user-idenconvey.html", part)
    assert (cover.account, cover.post_url) == ("idenconvey", post_url)


def test_pinterest_video_pins_thumbnails_are_the_pinner_s():
    thumbnail = of("sahebrao_obj2.json", "videos/thumbnails/ba/6f/d5")
    assert (thumbnail.account, thumbnail.post_url) == ("Fehvamuhayyel", "https://www.pinterest.com/pin/590182726196621316/")


def test_facebook_mobile_pages_name_posters_and_commenters():
    photo = of("fbscraper_story.html", "96724875_3065146506903115")
    assert (photo.account, photo.account_url, photo.shown_as) == ("Nintendo", "https://www.facebook.com/Nintendo", "post")
    assert photo.post_url == "https://www.facebook.com/story.php?story_fbid=3065154550235644&id=119240841493711"
    linked = of("fbscraper_story.html", "187351445_2462175780594765")  # the page's JSON-LD gives the address
    assert (linked.account, linked.account_url, linked.account_id, linked.shown_as) == (
        "Yusof Elmahboub", "https://www.facebook.com/yusof.elmahboub", "100004071004949", "profile_picture")
    ringed = of("fbscraper_story.html", "26814896_1579868268771698")  # only the ring names the id
    assert (ringed.account, ringed.account_url) == ("Lynn Williams", "https://www.facebook.com/profile.php?id=100002456217638")
    group_post = of("fbscraper_group.html", "192460244_10225244499035233")
    assert (group_post.account, group_post.account_id, group_post.post_url) == (
        "Jorge Guerra", "1104244068", "https://www.facebook.com/groups/117507531664134/permalink/4015085418572973/")
    link_picture = of("fbscraper_group.html", "safe_image:https://upc.edu.pe")
    assert link_picture.account == "Alfred Kobayashi"


def test_tiktok_sounds_covers_and_older_user_pictures():
    sound = of("neovolkov_get-user-post.json", "00440bc55370b396106eed48671762e8")
    # another's sound: its creator's name and the sound's page, no handle to make up
    assert (sound.account, sound.display_name, sound.shown_as) == (None, "HJS-Mechanical Equipment", "profile_picture")
    assert sound.post_url.endswith("-7287891047231933185")
    avatar = of("drawrowfly_userMeta.html", "c4cd9557417f17194757a8e7c18a5257")  # $user.avatarUri[]
    assert (avatar.account, avatar.shown_as) == ("petstoryss", "profile_picture")


def test_x_cards_articles_banners_and_badges():
    card = of("twscrape_raw_user_tweets.json", "card_img/2081927286639505409")
    assert (card.account, card.post_url) == ("XDevelopers", "https://x.com/XDevelopers/status/2019881223666233717")
    assert of("twscrape_raw_user_tweets.json", "media/HNy_nAybwAAj4Gl").account == "XDevelopers"  # an article's cover
    banner = of("twscrape_raw_user_tweets.json", "profile_banners/2244994945")
    assert (banner.account, banner.shown_as) == ("XDevelopers", "profile_picture")
    assert of("twscrape_raw_user_tweets.json", "profile_images/1955359038532653056").account == "X"  # affiliation badge


def test_reddit_thumbnails_are_the_post_s():
    thumbnail = of("zeek00_popular.json", "b.thumbs.redditmedia.com/7GSKFwyKZmFHL5wjR4v37YiESLn")
    assert thumbnail.account == "ejchristian86"


@pytest.mark.parametrize("platform", sorted({platform for platform, _ in captures()}))
def test_nearly_every_image_of_the_captures_names_its_account(platform):
    """At least 90 % of each platform's images (benchmarks/results/feeds.md has the figures)."""
    images = named = 0
    for name, (of_platform, path) in BY_NAME.items():
        if of_platform != platform:
            continue
        seen = AttributionMap()
        seen.add_all(list(attributions(name).items()))
        for _, url in census(platform, path.read_bytes()).values():
            images += 1
            got = seen.lookup(url)
            named += got is not None and bool(got.account or got.account_id)
    assert images == 0 or named / images >= 0.90, (platform, named, images)


def test_the_census_counts_account_pictures_apart():
    counted = census("instagram", BY_NAME["pgrimaud_media.json"][1].read_bytes())
    assert {kind for kind, _ in counted.values()} == {"post", ACCOUNT}
