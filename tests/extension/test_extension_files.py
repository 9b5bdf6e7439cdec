"""What can be checked of the extension without a browser: both manifests, both locales,
the Content Security Policy habits, the worker's rules, and the next-steps data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path

import pytest

from sentinelle.proxy.hosts import OTHER_PLATFORM, SOCIAL_DOMAINS, all_domains
from sentinelle.server.store.records import STATUSES
from tests.extension.conftest import EXTENSION_ID
from tests.support.watcher import ROOT

EXTENSION = ROOT / "extension"
LOCALES = ("en", "fr")
PAGES = sorted(EXTENSION.glob("*.html"))
SCRIPTS = sorted((EXTENSION / "js").glob("*.js"))
# What may differ between the Chromium and the Firefox manifest, and nothing else. (Firefox's
# proxy.onRequest needs host permissions for the hosts it routes; Chromium's PAC script does not.)
BROWSER_SPECIFIC = {"key", "minimum_chrome_version", "background", "browser_specific_settings",
                    "host_permissions"}
LOOPBACK = ["http://127.0.0.1/*", "http://localhost/*"]


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


CHROMIUM = load(EXTENSION / "manifest.json")
FIREFOX = load(EXTENSION / "manifest.firefox.json")
MESSAGES = {lang: load(EXTENSION / "_locales" / lang / "messages.json") for lang in LOCALES}


class Page(HTMLParser):
    """The tags and attributes of an HTML page."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self._in_script = False
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_script = True


# -- manifests -------------------------------------------------------------------------

def test_the_manifests_differ_only_where_the_browsers_do():
    assert CHROMIUM["manifest_version"] == FIREFOX["manifest_version"] == 3
    same = lambda m: {k: v for k, v in m.items() if k not in BROWSER_SPECIFIC}  # noqa: E731
    assert same(CHROMIUM) == same(FIREFOX)
    assert CHROMIUM["background"] == {"service_worker": "js/background.js", "type": "module"}
    assert FIREFOX["background"] == {"scripts": ["js/background.js"], "type": "module"}
    assert FIREFOX["browser_specific_settings"]["gecko"]["id"]
    assert "key" not in FIREFOX


def test_the_extension_has_the_version_of_sentinelle():
    assert CHROMIUM["version"] == version("sentinelle")


def test_the_fixed_key_gives_the_documented_extension_id():
    digest = hashlib.sha256(base64.b64decode(CHROMIUM["key"])).hexdigest()[:32]
    assert "".join(chr(ord("a") + int(c, 16)) for c in digest) == EXTENSION_ID
    assert EXTENSION_ID in (EXTENSION / "README.md").read_text()


def test_the_extension_reaches_only_the_local_server_and_the_social_networks():
    """Loopback for the API; the social networks for the patrol to read and scroll the pages it
    opens (chrome.scripting), and Firefox's proxy.onRequest. No other site."""
    assert CHROMIUM["host_permissions"] == FIREFOX["host_permissions"]
    assert CHROMIUM["host_permissions"][:2] == LOOPBACK
    assert set(CHROMIUM["permissions"]) == {"alarms", "idle", "notifications", "proxy", "storage", "scripting"}
    assert "content_scripts" not in CHROMIUM and "web_accessible_resources" not in CHROMIUM
    assert "optional_permissions" not in CHROMIUM and "optional_host_permissions" not in CHROMIUM


def test_firefox_may_route_the_social_networks_and_nothing_else():
    """proxy.onRequest fires only for hosts the extension has permission for: every social
    domain Sentinelle watches (proxy/hosts.py), and no other site."""
    assert FIREFOX["host_permissions"][:2] == LOOPBACK
    social = FIREFOX["host_permissions"][2:]
    assert social == [f"*://*.{d}/*" for domains in SOCIAL_DOMAINS.values() for d in domains]
    assert "<all_urls>" not in FIREFOX["host_permissions"]


def test_the_extension_ships_the_social_domains_of_proxy_hosts():
    """The extension writes its proxy rules from its own list: it must be proxy/hosts.py's."""
    shipped = load(EXTENSION / "data" / "social-domains.json")
    assert shipped == all_domains()
    assert FIREFOX["host_permissions"][2:] == [f"*://*.{d}/*" for d in shipped]


def test_the_networks_a_child_s_accounts_can_be_on_are_those_sentinelle_watches():
    """The options page's list of networks for her own accounts (js/platforms.js): the API refuses others."""
    source = (EXTENSION / "js" / "platforms.js").read_text()
    listed = re.search(r"PLATFORMS = Object\.freeze\(\[(.*?)\]\)", source).group(1)
    assert re.findall(r'"(\w+)"', listed) == list(SOCIAL_DOMAINS)


def test_every_file_the_manifests_and_pages_name_exists():
    named = [CHROMIUM["background"]["service_worker"], CHROMIUM["action"]["default_popup"],
             CHROMIUM["options_ui"]["page"], *CHROMIUM["icons"].values(),
             *CHROMIUM["action"]["default_icon"].values()]
    for page in PAGES:
        for tag, attrs in Page(page).tags:
            named += [attrs[a] for a in ("src", "href") if a in attrs and tag in ("script", "link", "img")]
    for script in SCRIPTS:
        named += [f"js/{m}" for m in re.findall(r'from "\./([\w-]+\.js)"', script.read_text())]
    missing = sorted({n for n in named if not (EXTENSION / n).is_file()})
    assert missing == []


# -- no inline script, no unsafe habits (the CSP would block them anyway) -------------------

@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_have_no_inline_script_or_style(page: Path):
    parsed = Page(page)
    assert not parsed.inline_script
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert scripts and all(a.get("type") == "module" and a.get("src") for a in scripts)
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on") or a == "style"], (tag, attrs)
        assert not any(str(v).startswith("javascript:") for v in attrs.values())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_build_html_or_code_from_strings(script: Path):
    source = script.read_text()
    for habit in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write"):
        assert habit not in source, habit


def worker_modules() -> set[Path]:
    """background.js and every module it imports, directly or not."""
    seen, todo = set(), [EXTENSION / "js" / "background.js"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += [EXTENSION / "js" / m for m in re.findall(r'from "\./([\w-]+\.js)"', module.read_text())]
    return seen


def test_the_worker_keeps_no_state_in_globals():
    for module in worker_modules():
        source = module.read_text()
        assert not re.findall(r"^(?:let|var)\s", source, re.M), module.name
        # Module-level constants are settings, never mutable containers.
        assert not re.findall(r"^const \w+ = (?:\[|\{|new )", source, re.M), module.name
    assert not re.search(r"\b(?:window|document|localStorage)\b",
                         "".join(m.read_text() for m in worker_modules()))


def test_the_worker_listens_at_top_level():
    source = (EXTENSION / "js" / "background.js").read_text()
    for event in ("runtime.onInstalled", "runtime.onStartup", "alarms.onAlarm",
                  "notifications.onClicked", "storage.onChanged"):
        assert re.search(rf"^chrome\.{re.escape(event)}\.addListener\(", source, re.M), event
    assert re.search(r"^serve\(\{", source, re.M)
    assert re.search(r"^globalThis\.browser\?\.proxy\?\.onRequest\?\.addListener\(routeRequest, "
                     r"\{ urls: socialOrigins\(\) \}\);$", source, re.M)


# -- locales -----------------------------------------------------------------------------

def used_message_keys() -> set[str]:
    keys = set()
    for manifest in (CHROMIUM, FIREFOX):
        keys |= set(re.findall(r"__MSG_(\w+)__", json.dumps(manifest)))
    for page in PAGES:
        for _, attrs in Page(page).tags:
            keys |= {v for a, v in attrs.items() if a == "data-i18n" or a.startswith("data-i18n-")}
    for script in SCRIPTS:
        source = script.read_text()
        keys |= set(re.findall(r'\bt\("(\w+)"', source))
        keys |= {f"{k}_{form}" for k in re.findall(r'\btn\("(\w+)"', source) for form in ("one", "other")}
        keys |= set(re.findall(r'"((?:error|link|resemblance|patrolNote|patrolStopped)[A-Z]\w+)"', source))
    keys |= {f"status_{s}" for s in STATUSES}
    keys |= {f"platform_{p}" for p in [*SOCIAL_DOMAINS, OTHER_PLATFORM]}
    return keys


def test_english_and_french_say_the_same_things():
    assert MESSAGES["en"].keys() == MESSAGES["fr"].keys()
    for key, english in MESSAGES["en"].items():
        french = MESSAGES["fr"][key]
        assert english.get("placeholders", {}).keys() == french.get("placeholders", {}).keys(), key
        for message in (english["message"], french["message"]):
            names = {n.lower() for n in re.findall(r"\$(\w+)\$", message)}
            assert names <= english.get("placeholders", {}).keys(), key
        assert french["message"].strip(), key


def test_every_string_the_interface_shows_is_in_both_locales():
    missing = sorted(used_message_keys() - MESSAGES["en"].keys())
    assert missing == []
    unused = sorted(MESSAGES["en"].keys() - used_message_keys())
    assert unused == []


def test_the_default_locale_is_english():
    assert CHROMIUM["default_locale"] == FIREFOX["default_locale"] == "en"


# -- next steps --------------------------------------------------------------------------

NEXT_STEPS = load(EXTENSION / "data" / "next-steps.json")


def steps() -> list[dict]:
    entries = [e for platform in NEXT_STEPS["platforms"].values() for e in platform]
    return entries + [e for country in NEXT_STEPS["countries"].values() for e in country["help"]]


def test_next_steps_cover_every_platform_sentinelle_watches():
    assert set(NEXT_STEPS["platforms"]) == {*SOCIAL_DOMAINS, OTHER_PLATFORM}
    assert all(NEXT_STEPS["platforms"][p] for p in NEXT_STEPS["platforms"])


def test_next_steps_are_in_english_and_french_with_safe_links():
    for entry in steps():
        assert set(entry["label"]) == {"en", "fr"}, entry
        assert entry["url"] is None or entry["url"].startswith("https://"), entry
    for country in NEXT_STEPS["countries"].values():
        assert set(country["name"]) == {"en", "fr"}
    for advice in NEXT_STEPS["advice"]:
        assert set(advice) == {"en", "fr"}


def test_next_steps_name_the_help_lines_of_the_issue():
    def text(country: str) -> str:
        return json.dumps(NEXT_STEPS["countries"][country], ensure_ascii=False)

    assert "3018" in text("FR") and "Pharos" in text("FR")
    assert "NCMEC CyberTipline" in text("US")
    assert "Report Harmful Content" in text("GB")
    instagram = json.dumps(NEXT_STEPS["platforms"]["instagram"])
    assert "impersonation" in instagram and "under 13" in instagram


# -- look for her ------------------------------------------------------------------------

def test_look_for_her_searches_every_network_that_can_be_searched_on_the_web():
    """data/search.json: each network's own search for accounts, {q} the one variable part, or
    the network named as having no web search; when it was reviewed, said in the file."""
    searches = load(EXTENSION / "data" / "search.json")
    assert set(searches["platforms"]) | set(searches["no_web_search"]) == set(SOCIAL_DOMAINS)
    assert not set(searches["platforms"]) & set(searches["no_web_search"])
    for platform, template in searches["platforms"].items():
        assert template.startswith("https://") and template.count("{q}") == 1, platform
        host = template.split("/")[2]
        assert any(host == d or host.endswith("." + d) for d in SOCIAL_DOMAINS[platform]), platform
    assert re.search(r"Reviewed \d{4}-\d{2}-\d{2}", searches["comment"])
