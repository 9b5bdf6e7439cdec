"""proxy/hosts.py: which hosts are intercepted, and the allow_hosts patterns mitmproxy gets."""

import re

import pytest

from sentinelle.proxy.hosts import (
    SOCIAL_DOMAINS,
    all_domains,
    allow_hosts_patterns,
    normalise_domain,
    platform_of,
)


@pytest.mark.parametrize("host, platform", [
    ("www.instagram.com", "instagram"),
    ("scontent-cdg4-1.cdninstagram.com", "instagram"),
    ("instagram.com", "instagram"),
    ("INSTAGRAM.COM.", "instagram"),
    ("scontent.xx.fbcdn.net", "facebook"),
    ("p16-sign-va.tiktokcdn.com", "tiktok"),
    ("pbs.twimg.com", "x"),
    ("i.redd.it", "reddit"),
    ("i.pinimg.com", "pinterest"),
    ("cf-st.sc-cdn.net", "snapchat"),
])
def test_social_hosts_are_known_by_platform(host, platform):
    assert platform_of(host) == platform


@pytest.mark.parametrize("host", [
    "www.mybank.fr", "notinstagram.com", "instagram.com.evil.net", "mail.google.com",
    "127.0.0.1", "",
])
def test_every_other_host_is_left_alone(host):
    assert platform_of(host) is None


def test_extra_domains_are_watched_as_other():
    assert platform_of("img.example-social.net", ["example-social.net"]) == "other"
    assert "example-social.net" in all_domains(["example-social.net"])


def test_patterns_match_host_and_port_as_mitmproxy_gives_them():
    patterns = [re.compile(p, re.IGNORECASE) for p in allow_hosts_patterns(all_domains())]
    assert any(p.search("scontent.cdninstagram.com:443") for p in patterns)
    assert any(p.search("www.instagram.com") for p in patterns)
    assert not any(p.search("www.mybank.fr:443") for p in patterns)
    assert not any(p.search("instagram.com.evil.net:443") for p in patterns)


def test_every_platform_has_a_domain_and_none_is_listed_twice():
    domains = [d for ds in SOCIAL_DOMAINS.values() for d in ds]
    assert all(SOCIAL_DOMAINS.values()) and len(domains) == len(set(domains))
    assert all(normalise_domain(d) == d for d in domains)


@pytest.mark.parametrize("bad", ["", "not a domain", "http://x.com", "*.x.com", "localhost"])
def test_a_malformed_domain_is_refused(bad):
    with pytest.raises(ValueError):
        normalise_domain(bad)
