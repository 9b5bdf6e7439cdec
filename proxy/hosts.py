"""Which hosts are social networks: the one reviewed list the proxy intercepts.

Every other host is tunnelled untouched: Sentinelle never sees a bank, a school
or a doctor. A domain here covers itself and all its subdomains
(`cdninstagram.com` covers `scontent-cdg4-1.cdninstagram.com`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Reviewed 2026-11: the sites and the image CDNs each platform serves its feed from.
SOCIAL_DOMAINS: Mapping[str, tuple[str, ...]] = {
    "instagram": ("instagram.com", "cdninstagram.com"),
    "facebook": ("facebook.com", "fbcdn.net", "fb.com", "messenger.com"),
    "tiktok": ("tiktok.com", "tiktokcdn.com", "tiktokcdn-us.com", "tiktokcdn-eu.com", "tiktokv.com"),
    "x": ("x.com", "twitter.com", "twimg.com"),
    "snapchat": ("snapchat.com", "sc-cdn.net"),
    "reddit": ("reddit.com", "redd.it", "redditmedia.com", "redditstatic.com"),
    "pinterest": ("pinterest.com", "pinimg.com", "pinterest.fr", "pinterest.co.uk", "pinterest.de"),
}

# What a host added by the parent (option `sentinelle_extra_hosts`) is reported as.
OTHER_PLATFORM = "other"

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(domain: str) -> str:
    """`.Instagram.COM.` → `instagram.com`; raises ValueError for anything that is not a domain."""
    name = domain.strip().strip(".").lower()
    if not _DOMAIN.match(name):
        raise ValueError(f"not a domain name: {domain!r}")
    return name


def platform_of(host: str, extra_domains: Iterable[str] = ()) -> str | None:
    """The platform a host belongs to, or None when Sentinelle must leave it alone."""
    host = host.strip(".").lower()
    for platform, domains in SOCIAL_DOMAINS.items():
        if any(_covers(domain, host) for domain in domains):
            return platform
    if any(_covers(domain, host) for domain in extra_domains):
        return OTHER_PLATFORM
    return None


def all_domains(extra_domains: Iterable[str] = ()) -> list[str]:
    """Every intercepted domain, the built-in list first."""
    domains = [d for ds in SOCIAL_DOMAINS.values() for d in ds]
    return domains + [d for d in extra_domains if d not in domains]


def allow_hosts_patterns(domains: Iterable[str]) -> list[str]:
    """mitmproxy `allow_hosts` regexes for these domains and their subdomains.

    mitmproxy matches them against `host:port`, hence the optional port at the end:
    without it every host would be tunnelled.
    """
    return [rf"^(.+\.)?{re.escape(domain)}(:\d+)?$" for domain in domains]


def _covers(domain: str, host: str) -> bool:
    return host == domain or host.endswith("." + domain)
