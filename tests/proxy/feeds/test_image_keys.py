"""proxy/feeds/image_keys.py: one key per image, whatever its size, format, signature or mirror."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinelle.proxy.feeds.image_keys import platform_key

SAME_IMAGE = {
    "fbcdn:451000001_1_n": [
        "https://scontent-cdg4-1.cdninstagram.com/v/t51.2885-15/451000001_1_n.jpg?stp=dst-jpg_e35_s1080x1080&oh=00_A&oe=6745",
        "https://scontent.cdninstagram.com/v/t51.2885-15/451000001_1_n.jpg?stp=dst-webp_s640x640&_nc_gid=x&oh=00_B",
        "https://instagram.fcdg1-1.fna.fbcdn.net/v/t51.2885-15/451000001_1_n.webp?_nc_ohc=z",
        "https://scontent-lhr8-1.cdninstagram.com/v/t51.2885-15/s640x640/451000001_1_n.jpg",  # about 2017
        "https://scontent.cdninstagram.com/vp/0123456789abcdef0123456789abcdef/5C6D7E8F/t51.2885-15/451000001_1_n.jpg",
    ],
    "x:media/GeAbCdEf123": [
        "https://pbs.twimg.com/media/GeAbCdEf123.jpg", "https://pbs.twimg.com/media/GeAbCdEf123.jpg:large",
        "https://pbs.twimg.com/media/GeAbCdEf123?format=webp&name=small",
        "https://pbs.twimg.com/media/GeAbCdEf123?format=png&name=4096x4096",
    ],
    "x:profile_images/186/AbCd": [
        "https://pbs.twimg.com/profile_images/186/AbCd_normal.jpg", "https://pbs.twimg.com/profile_images/186/AbCd_400x400.jpg",
        "https://pbs.twimg.com/profile_images/186/AbCd.png",
    ],
    "tiktok:tos-maliva-i-photomode-us/0a0b0c": [
        "https://p16-sign-va.tiktokcdn.com/tos-maliva-i-photomode-us/0a0b0c~tplv-photomode-image.jpeg?x-expires=1&x-signature=A",
        "https://p19-common-sign.tiktokcdn-us.com/tos-maliva-i-photomode-us/0a0b0c~tplv-photomode-2k-shrink:1440:1440.webp?lk3s=1",
        "https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-i-photomode-us/0a0b0c?x-expires=2",
    ],
    "reddit:abc123xyz": [
        "https://i.redd.it/abc123xyz.jpeg", "https://preview.redd.it/abc123xyz.jpeg?width=640&crop=smart&auto=webp&s=ff",
        "https://preview.redd.it/abc123xyz.png?width=108&amp;s=aa", "https://preview.redd.it/my-kid-at-the-beach-v0-abc123xyz.jpg?s=1",
    ],
    "pinterest:1f2e3d4c5b6a79881f2e3d4c5b6a7988": [
        "https://i.pinimg.com/236x/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.jpg",
        "https://i.pinimg.com/originals/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.png",
        "//i.pinimg.com/736x/1f/2e/3d/1f2e3d4c5b6a79881f2e3d4c5b6a7988.webp",
    ],
    "x:profile_banners/2244994945/1690213128": [
        "https://pbs.twimg.com/profile_banners/2244994945/1690213128", "https://pbs.twimg.com/profile_banners/2244994945/1690213128/1500x500",
        "https://pbs.twimg.com/profile_banners/2244994945/1690213128/600x200",
    ],
    "fbcdn:safe_image:https://example.org/sortie.jpg": [
        "https://external.fcdg4-1.fna.fbcdn.net/safe_image.php?d=AQH0&w=796&h=416&url=https%3A%2F%2Fexample.org%2Fsortie.jpg&cfs=1",
        "https://external.xx.fbcdn.net/safe_image.php?d=AQZ9&amp;w=75&amp;h=75&amp;url=https%3A%2F%2Fexample.org%2Fsortie.jpg",
    ],
    "pinterest:custom_covers/1125000000000000100_1700000000": [
        "https://i.pinimg.com/custom_covers/200x150/1125000000000000100_1700000000.jpg",
        "https://i.pinimg.com/custom_covers/222x/1125000000000000100_1700000000.jpg",
    ],
    "snapchat:kKJHIR1QAznRKK9jgYYDq": [
        "https://cf-st.sc-cdn.net/d/kKJHIR1QAznRKK9jgYYDq.256.IRZXSOY", "https://cf-st.sc-cdn.net/d/kKJHIR1QAznRKK9jgYYDq.1024.IRZXSOY",
    ],
}


@pytest.mark.parametrize("key", sorted(SAME_IMAGE))
def test_every_address_of_one_image_has_its_key(key):
    for url in SAME_IMAGE[key]:
        assert platform_key(url) == key, url


def test_other_images_have_other_keys():
    keys = [platform_key(urls[0]) for urls in SAME_IMAGE.values()]
    assert len(set(keys)) == len(keys)
    assert platform_key("https://pbs.twimg.com/media/A.jpg") != platform_key("https://pbs.twimg.com/media/B.jpg")
    assert platform_key("https://i.redd.it/a.jpg") != platform_key("https://i.redd.it/b.jpg")
    # two links' pictures fetched through Facebook are two images
    assert platform_key("https://external.xx.fbcdn.net/safe_image.php?url=https%3A%2F%2Fa.org%2F1.jpg") != \
        platform_key("https://external.xx.fbcdn.net/safe_image.php?url=https%3A%2F%2Fa.org%2F2.jpg")


def test_an_address_of_no_known_cdn_has_no_platform_key():
    for url in ("https://cdn.example.org/a.jpg", "https://external-preview.redd.it/x.jpg", "not a url", "", "https://[::1",
                "https://scontent.cdninstagram.com/", "https://external.xx.fbcdn.net/safe_image.php?d=AQ"):
        assert platform_key(url) is None, url


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.sampled_from(["", "https://", "https://pbs.twimg.com/", "https://i.pinimg.com/",
                                                "https://p16-sign-va.tiktokcdn.com/", "https://scontent.cdninstagram.com/"]))
def test_any_text_is_keyed_without_error(text, prefix):
    key = platform_key(prefix + text)
    assert key is None or isinstance(key, str)
