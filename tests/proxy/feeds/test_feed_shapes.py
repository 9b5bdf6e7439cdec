"""proxy/feeds/: every shape of docs/feed-shapes.md names the account and post of each
image, at every size the feed lists and at sizes and signatures it does not.

One fixture a shape (tests/fixtures/feeds/, each citing its source in the README there).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from sentinelle.proxy.feeds.attribution import Attribution, AttributionMap, parse_feed
from sentinelle.proxy.feeds.image_keys import image_key

FEEDS = Path(__file__).parents[2] / "fixtures" / "feeds"
IMAGE_URL = re.compile(r"https?:(?:\\?/){2}[a-z0-9.-]+\.(?:cdninstagram\.com|fbcdn\.net|twimg\.com|tiktokcdn(?:-us)?\.com"
                       r"|redd\.it|pinimg\.com|sc-cdn\.net|redditmedia\.com)[^\"'\s<>]*")
# Sounds and videos the fixtures list beside the images: never an image to attribute.
NOT_IMAGES = re.compile(r"\.(mp4|m4a|mp3|m3u8)(\?|$)|mime_type=video")


@dataclass(frozen=True)
class Named:
    """What the feed must say of an image fetched at `url` (a size or signature it may not list)."""

    url: str
    account: str | None  # None: the feed names the account by its id alone
    post_url: str | None
    repost: str | None = None
    first_account: str | None = None
    first_post_url: str | None = None
    shown_as: str = "post"
    caption: str | None = None
    account_id: str | None = None
    expires_at: str | None = None


SHAPES: dict[str, tuple[str, list[Named]]] = {
    "instagram_xdt_home.json": ("instagram", [
        Named("https://instagram.fcdg1-1.fna.fbcdn.net/v/t51.2885-15/451000001_1_n.jpg?stp=dst-webp_s320x320&oh=00_New&oe=1",
              "home.poster", "https://www.instagram.com/p/DAhOmEfEeD1/", caption="au parc"),
        Named("https://scontent.cdninstagram.com/v/t51.2885-15/451000002_2_n.jpg?stp=dst-jpg_s150x150&oh=x",
              "suggested.reel", "https://www.instagram.com/reel/DAeXpLoRe02/"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-19/461000001_1_n.jpg?stp=dst-jpg_s320x320&oh=z",
              "home.poster", "https://www.instagram.com/home.poster/", shown_as="profile_picture")]),
    "instagram_xdt_profile.json": ("instagram", [
        Named("https://scontent-lhr8-1.cdninstagram.com/v/t51.2885-15/451000012_1_n.jpg?stp=dst-jpg_e15_s240x240&oh=q",
              "grid.owner", "https://www.instagram.com/p/DApRoFiLe10/", caption="carrousel")]),
    "instagram_timeline.json": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.29350-15/431000001_1_n.jpg?stp=dst-jpg_e35_s480x480&oh=r",
              "fake.account.123", "https://www.instagram.com/p/C0dEfGhIjKl/")]),
    "instagram_rest_calls.json": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000020_1_n.jpg?oh=new",
              "info.poster", "https://www.instagram.com/p/DAmEdIaInF0/", caption="un post"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000021_1_n.jpg?oh=new",
              "saved.poster", "https://www.instagram.com/p/DAsAvEdPoS1/"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000022_1_n.jpg?oh=new",
              "story.teller", "https://www.instagram.com/stories/story.teller/3200000000000000022/", shown_as="story")]),
    "instagram_stories_graphql.json": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.12442-15/e15/p640x640/451000051_1_n.jpg?oh=other&oe=1",
              "story.fake.alice", "https://www.instagram.com/stories/story.fake.alice/3300000000000000051/",
              shown_as="story", account_id="4300000050", expires_at="2025-11-25T16:00:00+00:00"),
        # an item naming its owner by id: the reel names the account and its expiry
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.12442-15/e15/451000052_1_n.jpg?oh=other&oe=1",
              "story.fake.alice", "https://www.instagram.com/stories/story.fake.alice/3300000000000000052/",
              shown_as="story", account_id="4300000050", expires_at="2025-11-25T16:00:00+00:00")]),
    "instagram_owner_id_grids.json": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/e35/s320x320/451000062_1_n.jpg?oh=x",
              None, "https://www.instagram.com/p/CHaShTaG062/", account_id="4300000062", caption="#vacances"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/e35/451000064_1_n.jpg?oh=x",
              None, "https://www.instagram.com/tv/CIgTv00ViD4/", account_id="4300000064"),
        # ids another response of the same feed tied to a handle
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/e35/s150x150/451000061_1_n.jpg?oh=x",
              "grid.owner.named", "https://www.instagram.com/p/CHaShTaG061/", account_id="4300000061"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/e35/451000063_1_n.jpg?oh=x",
              "grid.owner.named", "https://www.instagram.com/p/CLoCaTiOn63/", account_id="4300000061")]),
    "instagram_reel_frames.json": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000072_1_n.jpg?oh=x", "reel.frames",
              "https://www.instagram.com/reel/DClIpFrAm70/", caption="au bord du lac"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000071_1_n.jpg?oh=x", "reel.frames",
              "https://www.instagram.com/reel/DClIpFrAm70/"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000073_1_n.jpg?oh=x", "reel.frames",
              "https://www.instagram.com/reel/DClIpFrAm70/"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000074_1_n.jpg?oh=x", "reel.frames",
              "https://www.instagram.com/stories/highlights/17900000000000074/"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000075_1_n.jpg?oh=x", "reel.frames",
              "https://www.instagram.com/stories/highlights/17900000000000075/")]),
    "instagram_graphql.json": ("instagram", [
        Named("https://scontent-lhr8-1.cdninstagram.com/v/t51.2885-15/s1080x1080/431000010_n.jpg?oh=zz",
              "copycat_account", "https://www.instagram.com/p/B1aBcDeFgHi/", caption="summer 🌞")]),
    "instagram_post_page.html": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000041_1_n.jpg?stp=dst-jpg_s640x640&oh=k",
              "page.owner", "https://www.instagram.com/p/DApOsTpAg40/", caption="vacances"),
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000042_1_n.jpg?oh=k",
              "logged.out.poster", "https://www.instagram.com/p/DAlOgGeDoU2/")]),
    "instagram_profile.html": ("instagram", [
        Named("https://scontent-cdg4-3.cdninstagram.com/v/t51.29350-15/431000020_n.jpg?stp=dst-jpg_e35_p1080x1080&oh=w",
              "profile.thief", "https://www.instagram.com/p/C9pRoFiLe01/")]),
    "instagram_search.json": ("instagram", [
        Named("https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-19/461000030_1_n.jpg?stp=dst-jpg_s320x320&oh=b",
              "alice.fan.page", "https://www.instagram.com/alice.fan.page/", shown_as="profile_picture")]),
    "x_home_timeline.json": ("x", [
        Named("https://pbs.twimg.com/media/GdAbCdEfXYZ?format=webp&name=4096x4096",
              "someone_x", "https://x.com/someone_x/status/1861000000000000001")]),
    "x_home_latest_timeline.json": ("x", [
        Named("https://pbs.twimg.com/media/GeOrIgInAl10?format=jpg&name=small", "the_retweeter",
              "https://x.com/the_retweeter/status/1862000000000000011", "retweet", "first_poster",
              "https://x.com/first_poster/status/1862000000000000010"),
        Named("https://pbs.twimg.com/media/GeLaTeSt0012?format=png&name=orig", "latest_poster",
              "https://x.com/latest_poster/status/1862000000000000012")]),
    "x_user_media.json": ("x", [
        Named("https://pbs.twimg.com/media/GeGrId000020?format=jpg&name=360x360", "media_owner",
              "https://x.com/media_owner/status/1862000000000000020"),
        Named("https://pbs.twimg.com/profile_images/1862000000000000099/AbCdEf_400x400.jpg", "media_owner",
              "https://x.com/media_owner", shown_as="profile_picture")]),
    "x_tweet_detail.json": ("x", [
        Named("https://pbs.twimg.com/media/GeQuOtEd0030?format=jpg&name=medium", "the_quoter",
              "https://x.com/the_quoter/status/1862000000000000031", "quote", "quoted_author",
              "https://x.com/quoted_author/status/1862000000000000030"),
        Named("https://pbs.twimg.com/media/GeBoRrOwEd32.jpg", "media_borrower",
              "https://x.com/media_borrower/status/1862000000000000032", "media", "media_source",
              "https://x.com/media_source/status/1862000000000000033")]),
    "x_cards_and_banners.json": ("x", [
        Named("https://pbs.twimg.com/card_img/1862000000000000193/CaRdImG1?format=jpg&name=600x314", "card_sharer",
              "https://x.com/card_sharer/status/1862000000000000191", account_id="1862000000000000101"),
        Named("https://pbs.twimg.com/media/GeUnIfIeD192?format=jpg&name=small", "card_sharer",
              "https://x.com/card_sharer/status/1862000000000000191"),
        Named("https://pbs.twimg.com/media/GeArTiClE195?format=jpg&name=medium", "card_sharer",
              "https://x.com/card_sharer/status/1862000000000000191"),
        Named("https://pbs.twimg.com/profile_banners/1862000000000000101/1764000000/1500x500", "card_sharer",
              "https://x.com/card_sharer", shown_as="profile_picture"),
        Named("https://pbs.twimg.com/profile_images/1862000000000000190/BaDgE190_normal.jpg", "asso_parents",
              "https://x.com/asso_parents", shown_as="profile_picture"),
        Named("https://pbs.twimg.com/list_banner_img/1862000000000000196/LiStBaNr?format=jpg&name=900x300", "list_owner",
              "https://x.com/i/lists/1862000000000000196")]),
    "x_search_timeline.json": ("x", [
        Named("https://pbs.twimg.com/media/GeSeArCh0040?format=jpg&name=large", "search_hit",
              "https://x.com/search_hit/status/1862000000000000040")]),
    "x_user_tweets_timeline_v2.json": ("x", [
        Named("https://pbs.twimg.com/media/GeOlDtImE041?format=jpg&name=small", "old_timeline",
              "https://x.com/old_timeline/status/1862000000000000041")]),
    "tiktok_item_list.json": ("tiktok", [
        Named("https://p19-common-sign.tiktokcdn-us.com/tos-maliva-i-photomode-us/aabbccdd0001~tplv-photomode-tx2.jpeg"
              "?x-expires=2&x-signature=New&nonce=1", "tt.someone", "https://www.tiktok.com/@tt.someone/photo/7440000000000000001")]),
    "tiktok_page.html": ("tiktok", [
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-i-photomode-us/eeff0003~tplv-photomode-image-v1:q70.webp?x-signature=K",
              "page.poster", "https://www.tiktok.com/@page.poster/photo/7440000000000000003")]),
    "tiktok_sigi_state.html": ("tiktok", [
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-i-photomode-us/0a0b0c0d0e0f00000000000000000001~tplv-photomode-2k.jpeg",
              "sigi.poster", "https://www.tiktok.com/@sigi.poster/photo/7441000000000000001"),
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000a1~c5_720x720.jpeg?x-signature=z",
              "sigi.poster", "https://www.tiktok.com/@sigi.poster", shown_as="profile_picture")]),
    "tiktok_next_data.html": ("tiktok", [
        Named("https://p19-sign.tiktokcdn-us.com/obj/tos-maliva-p-0068/0a0b0c0d0e0f00000000000000000002?x-expires=9",
              "next.poster", "https://www.tiktok.com/@next.poster/video/7441000000000000002")]),
    "tiktok_user_page.html": ("tiktok", [
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000a3~c5_1080x1080.jpeg",
              "tt.profile", "https://www.tiktok.com/@tt.profile", shown_as="profile_picture")]),
    "tiktok_comments.json": ("tiktok", [
        Named("https://p19-sign.tiktokcdn-us.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000c1~c5_720x720.jpeg",
              "comment.author", "https://www.tiktok.com/@comment.author", shown_as="profile_picture")]),
    "tiktok_sounds.json": ("tiktok", [
        # an original sound of the item's author: its cover is the author's picture
        Named("https://p19-sign.tiktokcdn-us.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000b2~c5_300x300.webp",
              "sound.maker", "https://www.tiktok.com/@sound.maker", shown_as="profile_picture", account_id="6920000000000000081"),
        # another's sound, named by its page
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000b3~c5_720x720.jpeg",
              "sound.creator", "https://www.tiktok.com/@sound.creator", shown_as="profile_picture"),
        Named("https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/0a0b0c0d0e0f000000000000000000c2?x-expires=3&z=960",
              "sound.maker", "https://www.tiktok.com/@sound.maker/video/7442000000000000081"),
        Named("https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/0a0b0c0d0e0f000000000000000000c5",
              "older.poster", "https://www.tiktok.com/@older.poster/video/6800000000000000084", caption="été 2020"),
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000b6~c5_720x720.jpeg",
              "older.poster", "https://www.tiktok.com/@older.poster", shown_as="profile_picture")]),
    "tiktok_user_page_2021.html": ("tiktok", [
        Named("https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/0a0b0c0d0e0f000000000000000000b7~c5_100x100.jpeg",
              "page.user", "https://www.tiktok.com/@page.user", shown_as="profile_picture", account_id="6920000000000000085")]),
    "reddit_thumbnails_comments.json": ("reddit", [
        Named("https://b.thumbs.redditmedia.com/ThUmB01aBcDeF.jpg", "thumb_poster",
              "https://www.reddit.com/r/photosdefamille/comments/1h2ffff/au_parc/", account_id="t2_thumb01"),
        Named("https://preview.redd.it/0bfUsCaTeD01.jpg?blur=40&format=pjpg&s=other", "thumb_poster",
              "https://www.reddit.com/r/photosdefamille/comments/1h2ffff/au_parc/"),
        Named("https://i.redd.it/c0mmentimg1.jpeg", "comment_imager",
              "https://www.reddit.com/r/photosdefamille/comments/1h2ffff/au_parc/kc0mm01/"),
        Named("https://styles.redditmedia.com/t5_2fam01/styles/communityIcon_fam01abc.png?width=64&s=3", "r/photosdefamille",
              "https://www.reddit.com/r/photosdefamille/", shown_as="profile_picture")]),
    "reddit_listing.json": ("reddit", [
        Named("https://preview.redd.it/abc123xyz.jpeg?width=960&crop=smart&auto=webp&s=ffff", "throwaway_1234",
              "https://www.reddit.com/r/pics/comments/1h0aaaa/found_this/")]),
    "reddit_comments.json": ("reddit", [
        Named("https://preview.redd.it/ma-galerie-v0-g1abcdefgh.jpg?width=640&format=pjpg&auto=webp&s=9999", "gallery_owner",
              "https://www.reddit.com/r/pics/comments/1h1cccc/ma_galerie/"),
        Named("https://i.redd.it/g1abcdefgh.jpg", "gallery_owner", "https://www.reddit.com/r/pics/comments/1h1cccc/ma_galerie/")]),
    "reddit_crosspost.json": ("reddit", [
        Named("https://i.redd.it/xp0riginal1.jpeg", "cross_poster", "https://www.reddit.com/r/aww/comments/1h1dddd/vu_ailleurs/",
              "crosspost", "original_poster", "https://www.reddit.com/r/pics/comments/1h1eeee/original/")]),
    "reddit_user_about.json": ("reddit", [
        Named("https://styles.redditmedia.com/t5_2abc/styles/profileIcon_av4tarUser01.jpg?width=64&s=1", "avatar_user",
              "https://www.reddit.com/user/avatar_user/", shown_as="profile_picture")]),
    "pinterest_resource.json": ("pinterest", [
        Named("https://i.pinimg.com/736x/ab/cd/ef/abcdef0123456789.jpg", "pin.collector",
              "https://www.pinterest.com/pin/1125000000000000001/")]),
    "pinterest_search_repin.json": ("pinterest", [
        Named("https://i.pinimg.com/1200x/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.jpg", "re.pinner",
              "https://www.pinterest.com/pin/1125000000000000010/", "repin", "first.pinner"),
        Named("https://i.pinimg.com/564x/2a/2b/2c/2a2b2c2d2e2f30312a2b2c2d2e2f3031.jpg", "carousel.pinner",
              "https://www.pinterest.com/pin/1125000000000000011/")]),
    "pinterest_graphql.json": ("pinterest", [
        Named("https://i.pinimg.com/originals/3c/3d/3e/3c3d3e3f404142433c3d3e3f40414243.png", "relay.pinner",
              "https://www.pinterest.com/pin/1125000000000000020/", "repin", "relay.origin")]),
    "pinterest_boards.html": ("pinterest", [
        Named("https://i.pinimg.com/236x/a1/a1/a1/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1.jpg", "board.keeper",
              "https://www.pinterest.com/board.keeper/souvenirs/", account_id="9990100"),
        Named("https://i.pinimg.com/222x/a4/a4/a4/a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4.jpg", "board.keeper",
              "https://www.pinterest.com/board.keeper/souvenirs/"),
        Named("https://i.pinimg.com/custom_covers/222x/1125000000000000100_1700000000.jpg", "board.keeper",
              "https://www.pinterest.com/board.keeper/souvenirs/"),
        # a board without its owner: the board's address names it
        Named("https://i.pinimg.com/upload/1125000000000000110_board_thumbnail_2024-06-19-21-37-07_10498_60.jpg",
              "board.keeper", "https://www.pinterest.com/board.keeper/plage/"),
        Named("https://i.pinimg.com/videos/thumbnails/originals/c2/c2/c2/c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2.0000000.jpg",
              "video.pinner", "https://www.pinterest.com/pin/1125000000000000120/", account_id="9990120"),
        Named("https://i.pinimg.com/736x/d1/d1/d1/d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1.jpg", "idea.maker",
              "https://www.pinterest.com/pin/1125000000000000130/"),
        Named("https://i.pinimg.com/originals/d3/d3/d3/d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3.jpg", "idea.maker",
              "https://www.pinterest.com/pin/1125000000000000130/")]),
    "facebook_mobile_story.html": ("facebook", [
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000051_1_2_n.jpg?stp=dst-jpg_s960x960&oh=x",
              "Page Copieuse", "https://www.facebook.com/story.php?story_fbid=1090000000000050&id=100000000000050",
              account_id="100000000000050"),
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000052_1_2_n.jpg?oh=x",
              "Page Copieuse", "https://www.facebook.com/story.php?story_fbid=1090000000000050&id=100000000000050"),
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-1/481000050_1_2_n.jpg?oh=x",
              "Page Copieuse", "https://www.facebook.com/page.copieuse/", shown_as="profile_picture"),
        # a commenter the page does not link: the ring names the id, the page's JSON-LD the address
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t1.6435-1/481000061_1_2_n.jpg?oh=x", "Commentatrice Un",
              "https://www.facebook.com/commentatrice.un", shown_as="profile_picture", account_id="100000000000061"),
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t1.6435-1/481000062_1_2_n.jpg?oh=x", "Commentateur Deux",
              "https://www.facebook.com/commentateur.deux", shown_as="profile_picture", account_id="100000000000062"),
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000063_1_2_n.jpg?oh=x", "Commentateur Deux",
              "https://www.facebook.com/story.php?story_fbid=1090000000000050&id=100000000000050")]),
    "facebook_mobile_group.html": ("facebook", [
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000072_1_2_n.jpg?oh=x", "Membre Copieur",
              "https://www.facebook.com/groups/117500000000001/permalink/1090000000000071/", account_id="100000000000071"),
        Named("https://external.fcdg4-1.fna.fbcdn.net/safe_image.php?d=AQH9&w=300&h=300&url=https%3A%2F%2Fexample.org%2Fsortie.jpg",
              "Membre Copieur", "https://www.facebook.com/groups/117500000000001/permalink/1090000000000071/"),
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000074_1_2_n.jpg?oh=x", "Autre Membre",
              "https://www.facebook.com/groups/117500000000001/permalink/1090000000000073/", account_id="100000000000073"),
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-1/481000071_1_2_n.jpg?oh=x", "Membre Copieur",
              "https://www.facebook.com/profile.php?id=100000000000071", shown_as="profile_picture"),
        # a story sharing another's photo: the photo's link names who posted it first
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000076_1_2_n.jpg?oh=x", "Membre Partageur",
              "https://www.facebook.com/groups/117500000000001/permalink/1090000000000075/", "share", "Page Originale"),
        # the group's cover, on the group's own page
        Named("https://scontent.fcdg4-1.fna.fbcdn.net/v/t39.30808-6/471000070_1_2_n.jpg?oh=x", "Groupe de Parents",
              "https://www.facebook.com/groups/117500000000001/")]),
    "facebook_photo_page.html": ("facebook", [
        Named("https://scontent-cdg4-1.xx.fbcdn.net/v/t39.30808-6/471000001_1_2_n.jpg?stp=dst-jpg_s2048x2048&oh=00_N",
              "Fb Owner", "https://www.facebook.com/photo/?fbid=1090000000000001")]),
    "facebook_graphql_feed.json": ("facebook", [
        Named("https://scontent-cdg4-2.xx.fbcdn.net/v/t39.30808-6/471000004_1_2_n.jpg?stp=dst-jpg_p526x296&oh=00_N",
              "Feed Poster", "https://www.facebook.com/permalink.php?story_fbid=1090000000000002&id=100000000000002",
              caption="souvenirs"),
        Named("https://scontent-cdg4-2.xx.fbcdn.net/v/t39.30808-1/481000002_1_2_n.jpg?stp=cp0_dst-jpg_s80x80&oh=00_N",
              "Feed Poster", "https://www.facebook.com/profile.php?id=100000000000002", shown_as="profile_picture")]),
    "snapchat_spotlight.html": ("snapchat", [
        Named("https://cf-st.sc-cdn.net/d/sP0tThumb0001.1024.IRZXSOY", "snap.poster",
              "https://www.snapchat.com/spotlight/W7_EDlSpOtLiGhT0001", caption="au lac")]),
}


def read(name: str) -> tuple[str, dict[str, Attribution]]:
    platform, _ = SHAPES[name]
    content_type = "text/html; charset=utf-8" if name.endswith(".html") else "application/json"
    return platform, dict(parse_feed(platform, f"https://feed.example/{name}", content_type, (FEEDS / name).read_bytes()))


def listed_urls(name: str) -> list[str]:
    """Every image address the fixture lists, as the browser would fetch it."""
    text = (FEEDS / name).read_text()
    # (rstrip: an address in JSON written inside a JSON string ends at an escaped quote)
    return [m.group(0).replace("\\/", "/").replace("&amp;", "&").rstrip("\\") for m in IMAGE_URL.finditer(text)]


def test_every_fixture_is_a_shape_with_a_cited_source():
    readme = (FEEDS / "README.md").read_text()
    on_disk = {p.name for p in FEEDS.iterdir() if p.suffix in (".json", ".html")}
    assert on_disk == set(SHAPES)
    for name in on_disk:
        assert f"`{name}`" in readme, f"{name} has no entry in the fixtures' README"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_image_names_its_account_and_post_at_another_size(name):
    platform, found = read(name)
    attributions = AttributionMap()
    attributions.add_all(list(found.items()))
    for named in SHAPES[name][1]:
        got = attributions.lookup(named.url)
        assert got is not None, named.url
        assert (got.account, got.post_url, got.shown_as) == (named.account, named.post_url, named.shown_as), named.url
        assert (got.repost, got.first_account) == (named.repost, named.first_account), named.url
        if named.first_post_url:
            assert got.first_post_url == named.first_post_url
        if named.caption:
            assert got.caption == named.caption
        if named.account_id:
            assert got.account_id == named.account_id, named.url
        if named.expires_at:
            assert got.expires_at == named.expires_at, named.url
        assert got.platform == platform and got.feed_url.endswith(name)
        assert got.record  # the feed record that named it, kept as evidence


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_size_the_feed_lists_is_attributed_to_an_account_the_feed_names(name):
    _, found = read(name)
    text = (FEEDS / name).read_text()
    for url in listed_urls(name):
        if "contentUrl" in text and url.endswith(".1322.IRZXSOY") or NOT_IMAGES.search(url):
            continue  # Snapchat's video address, a sound, a video: not images
        got = found.get(image_key(url))
        assert got is not None, url
        assert (got.account or got.account_id) and (got.account or got.account_id) in html.unescape(text), url


def test_a_profile_picture_does_not_hide_a_post_of_the_same_image():
    body = json.dumps({"users": [{"user": {"username": "wearer", "profile_pic_url":
                                           "https://scontent.cdninstagram.com/v/t51.2885-19/1_2_3_n.jpg"}}],
                       "items": [{"code": "Cpost", "user": {"username": "poster"}, "image_versions2": {"candidates": [
                           {"url": "https://scontent.cdninstagram.com/v/t51.2885-19/1_2_3_n.jpg?stp=s1080x1080"}]}}]}).encode()
    (got,) = dict(parse_feed("instagram", "u", "application/json", body)).values()
    assert (got.account, got.shown_as) == ("poster", "post")


def test_json_labelled_as_html_is_read_as_json():
    """Facebook's /api/graphql/ answers `text/html` with its `for (;;);`-prefixed JSON."""
    body = (FEEDS / "facebook_graphql_feed.json").read_bytes()
    found = dict(parse_feed("facebook", "u", "text/html; charset=utf-8", body))
    assert {a.account for a in found.values()} == {"Feed Poster"}
    as_json = json.dumps({"itemList": [json.loads((FEEDS / "tiktok_item_list.json").read_text())["itemList"][0]]})
    assert parse_feed("tiktok", "u", "text/html", as_json.encode())


def test_a_later_feed_s_profile_picture_does_not_hide_an_earlier_post_of_the_same_image():
    url = "https://scontent.cdninstagram.com/v/t51.2885-15/5_6_7_n.jpg"
    post = Attribution("instagram", "poster", None, "https://www.instagram.com/p/C/", None, "u", "{}")
    picture = Attribution("instagram", "wearer", None, None, None, "u", "{}", shown_as="profile_picture")
    attributions = AttributionMap()
    attributions.add(image_key(url), post)
    attributions.add(image_key(url), picture)
    assert attributions.lookup(url) is post
    newer = Attribution("instagram", "reposter", None, "https://www.instagram.com/p/D/", None, "u", "{}")
    attributions.add(image_key(url), newer)
    assert attributions.lookup(url) is newer


def test_a_pin_without_a_pinner_is_its_closeup_attribution_s():
    """ytdlp `pinterest.py` names the uploader from `closeup_attribution` when that is all there is."""
    md5 = "4d4e4f50a1a2a3a44d4e4f50a1a2a3a4"
    pin = {"id": "1125000000000000030", "images": {"474x": {"url": f"https://i.pinimg.com/474x/4d/4e/4f/{md5}.jpg"}},
           "closeup_attribution": {"id": "9990030", "username": "closeup.author", "full_name": "Closeup"}}
    (got,) = dict(parse_feed("pinterest", "u", "application/json", json.dumps({"resource_response": {"data": pin}}).encode())).values()
    assert (got.account, got.display_name) == ("closeup.author", "Closeup")


@pytest.mark.parametrize("url", ["javascript:alert(document.domain)//", "javascript://www.facebook.com/%0aalert(1)",
                                 "data:text/html,<script>alert(1)</script>", "https://www.facebook.com.evil.example/p"])
def test_a_facebook_address_that_is_not_facebook_s_is_not_kept(url):
    """`node.url` and `actors[].url` are the feed's word, and end up links in the case file."""
    media = {"__typename": "Photo", "id": "1",
             "photo_image": {"uri": "https://scontent-cdg4-2.xx.fbcdn.net/v/t39.30808-6/471000003_1_2_n.jpg"}}
    story = {"url": url, "actors": [{"id": "100000000000002", "name": "Feed Poster", "url": url}],
             "attachments": [{"styles": {"attachment": {"media": media}}}]}
    photo = {"__typename": "Photo", "id": "1090000000000001", "url": url,
             "owner": {"id": "100000000000005", "name": "Fb Owner"},
             "image": {"uri": "https://scontent-cdg4-2.xx.fbcdn.net/v/t39.30808-6/471000009_1_2_n.jpg"}}
    found = dict(parse_feed("facebook", "u", "application/json", json.dumps({"data": [story, photo]}).encode()))
    by_account = {a.account: a for a in found.values()}
    assert by_account["Feed Poster"].post_url is None
    assert by_account["Feed Poster"].account_url == "https://www.facebook.com/profile.php?id=100000000000002"
    assert by_account["Fb Owner"].post_url == "https://www.facebook.com/photo/?fbid=1090000000000001"
