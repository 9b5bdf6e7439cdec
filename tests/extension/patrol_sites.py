"""Test only: the fake social networks the patrol looks at, on one HTTPS origin on 127.0.0.1,
and a real `sentinelle run` whose proxy sends their names there.

Instagram's search page asks for its results (Instagram's top-search shape, as the real site
does) and shows each account's picture: a look-alike wearing a crop of her protected photo, and
another with a stranger's picture. X's search is a login wall. Reddit's results never end: each
scroll to the bottom fetches more. Pinterest's never end either, but load more only once the end
of the list is drawn (an IntersectionObserver). The other networks answer 404, as a page that
loads and shows nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.extension.conftest import OriginThread
from tests.support.certs import make_origin_certs
from tests.support.origin import Origin
from tests.support.watcher import Watcher, sentinelle

CHILD = "Alice Martin"
HANDLE = "alice_mrtn"
CDN = "scontent-test.cdninstagram.com"
HOSTS = [CDN, "www.instagram.com", "x.com", "www.reddit.com", "www.facebook.com", "www.tiktok.com",
         "www.pinterest.com"]
LOOK_ALIKE = "alice.martin.2014"

SEARCH_PAGE = b"""<!doctype html><meta charset="utf-8"><title>Instagram</title><ul id="results"></ul>
<script>
const q = new URLSearchParams(location.search).get("q");
fetch("/api/v1/web/search/topsearch/?query=" + encodeURIComponent(q)).then((r) => r.json()).then((found) => {
  for (const { user } of found.users) {
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = user.profile_pic_url;
    item.append(img, user.username);
    document.getElementById("results").append(item);
  }
});
</script>"""

LOGIN_WALL = b"""<!doctype html><meta charset="utf-8"><title>X</title>
<form><input name="user"><input type="password" name="pass"><button>Log in</button></form>"""


def endless(title: str, loads: str, trigger: str) -> bytes:
    """A list of results that never ends: `trigger` calls more(), which fetches the next page of
    results at `loads` + whether the page was hidden (a minimized window's page is), then makes
    the page taller."""
    return f"""<!doctype html><meta charset="utf-8"><title>{title}</title><div id="list"></div>
<p id="end">more</p>
<script>
let page = 0;
function more() {{
  page += 1;
  fetch("{loads}" + document.visibilityState + "?page=" + page).then(() => {{
    const block = document.createElement("div");
    block.style.height = "3000px";
    block.textContent = "results " + page;
    document.getElementById("list").append(block);
  }});
}}
{trigger}
</script>""".encode()


# Reddit's: its first results as it loads, then each scroll near the bottom fetches more.
ENDLESS = endless("Reddit", "/svc/more/", """more();
addEventListener("scroll", () => {
  if (scrollY + innerHeight > document.documentElement.scrollHeight - 1500) more();
});""")
# Pinterest's load more only once the end of the list is drawn on screen (an IntersectionObserver
# on a marker after the list), as the networks' infinite lists do: the first results too.
DRAWN_END = endless("Pinterest", "/svc/drawn/", """new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting)) more();
}).observe(document.getElementById("end"));""")


def search_results(*users: tuple[str, str, str]) -> bytes:
    """Instagram's top-search shape (docs/feed-shapes.md: `users[].user`)."""
    return json.dumps({"users": [
        {"position": i, "user": {"pk": str(1000 + i), "username": username, "full_name": full_name,
                                 "is_private": False,
                                 "profile_pic_url": f"https://{CDN}{picture}?stp=dst-jpg_s150x150&oh=00_A"}}
        for i, (username, full_name, picture) in enumerate(users)], "places": [], "hashtags": [],
        "status": "ok"}).encode()


def site_files() -> dict[str, tuple[str, bytes]]:
    her_photo = square_crop_copy(kodak(5), width=320)
    stranger = jpeg_bytes(Image.open(kodak(20)).resize((320, 213)))
    return {
        "/explore/search/keyword/": ("text/html; charset=utf-8", SEARCH_PAGE),
        "/api/v1/web/search/topsearch/": ("application/json; charset=utf-8", search_results(
            (LOOK_ALIKE, CHILD, "/v/t51.2885-19/501_1_2_n.jpg"),
            ("chloe.bernard", "Chloé Bernard", "/v/t51.2885-19/502_1_2_n.jpg"))),
        "/v/t51.2885-19/501_1_2_n.jpg": ("image/jpeg", her_photo),
        "/v/t51.2885-19/502_1_2_n.jpg": ("image/jpeg", stranger),
        "/search": ("text/html; charset=utf-8", LOGIN_WALL),  # x.com/search
        "/search/": ("text/html; charset=utf-8", ENDLESS),  # www.reddit.com/search/
        "/search/users/": ("text/html; charset=utf-8", DRAWN_END),  # www.pinterest.com/search/users/
        "/svc/more/hidden": ("application/json", b"{}"),
        "/svc/more/visible": ("application/json", b"{}"),
        "/svc/drawn/hidden": ("application/json", b"{}"),
        "/svc/drawn/visible": ("application/json", b"{}"),
    }


@dataclass
class PatrolSites:
    watcher: Watcher
    origin: Origin
    ca_file: Path  # the origin's CA (the proxy trusts it upstream)

    def api(self, method: str, path: str, body: dict | None = None):
        return self.watcher.api(method, path, body)

    def patrol(self) -> dict[str, dict]:
        code, summary = self.api("GET", "/api/patrol")
        assert code == 200, summary
        return {network["platform"]: network for network in summary["networks"]}


@contextlib.contextmanager
def patrol_sites(folder: Path) -> Iterator[PatrolSites]:
    data_dir = folder / "data"
    sentinelle(data_dir, "child", "set", CHILD, "--handle", f"instagram:{HANDLE}")
    sentinelle(data_dir, "enroll", "--child", CHILD, str(kodak(5)))
    certs = make_origin_certs(folder / "origin", HOSTS)
    thread = OriginThread(certs, site_files())
    origin = thread.start()
    watcher = Watcher(data_dir, {host: origin.port for host in HOSTS}, certs.ca_file)
    try:
        yield PatrolSites(watcher, origin, certs.ca_file)
    finally:
        code = watcher.stop()
        thread.stop()
        _, err = watcher.output
        assert code == 0 and "Traceback" not in err, err
