"""What the popup and the review page say, and that it fits, in a real Chromium against a real
`sentinelle run`, in English and French: the account named as the one that pretends to be her,
French elision before her name, a plain crop outlined where the copy shows the photo, and every
filter and label inside its panel at the extension's real widths (the popup at 360 and 400 px,
the review page at 1280 and 1024 px). Screenshots of each are in artifacts/extension/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import numpy
import pytest
from PIL import Image
from playwright.sync_api import expect

from sentinelle.proxy.engine.fingerprint import fingerprint
from sentinelle.proxy.engine.matcher import Match
from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.alerts.protected import ProtectedSet
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.extension.conftest import CHILD, Browser, Server, images_loaded, launch, screenshot
from tests.extension.test_impersonation import lookalike

IMPOSTOR = "alice_officiel_compte_de_secours_2014"  # a long handle: the popup and the rows must hold it


@pytest.fixture(scope="module")
def alerts(server: Server) -> dict[str, dict]:
    """A plain crop of the enrolled photo as the matcher placed it (its corners left and right of
    the copy), and an account whose handle dresses hers wearing it as its profile picture."""
    copy = square_crop_copy(kodak(5))
    store = Store(server.watcher.data_dir)
    try:
        found = ProtectedSet(store, server.watcher.data_dir).match(fingerprint(copy))
        assert found is not None and min(x for x, _ in found.region) < -50  # the photo runs past the crop
        crop, _ = store.record_sighting(Sighting(
            datetime.now(UTC), "https://scontent.cdninstagram.com/v/t51/crop_n.jpg", "https://www.instagram.com/",
            "scontent.cdninstagram.com", "instagram", "image/jpeg", copy, found, {}))
        store.record_lookalike(lookalike(IMPOSTOR, CHILD, "own handle"))
        worn = Attribution(
            "instagram", IMPOSTOR, f"https://www.instagram.com/{IMPOSTOR}/", f"https://www.instagram.com/{IMPOSTOR}/",
            None, "https://www.instagram.com/api/v1/web/search/topsearch/", "{}", shown_as="profile_picture")
        worn_alert, _ = store.record_sighting(Sighting(
            datetime.now(UTC), "https://scontent.cdninstagram.com/v/t51.2885-19/fit_n.jpg", None,
            "scontent.cdninstagram.com", "instagram", "image/jpeg", square_crop_copy(kodak(5), 150),
            Match(found.photo_id, "crop 1:1", 0, 1.0), {}, worn))
    finally:
        store.close()
    assert worn_alert["kind"] == "impersonation"
    return {"crop": crop, "impersonation": worn_alert}


@pytest.fixture(scope="module")
def french(playwright_instance, server: Server, tmp_path_factory) -> Browser:
    browser = launch(playwright_instance, tmp_path_factory.mktemp("profile-fr"), lang="fr")
    browser.pair(server)
    yield browser
    browser.context.close()


def test_the_outline_pure_function_clips_a_crop_to_the_image(paired: Browser):
    page = paired.open("popup.html", 400, 600)
    clipped = page.evaluate("""() => import('./js/outline.js').then(({ visibleOutline }) => [
        visibleOutline([[-120.7, 0], [600.7, 0], [600.7, 480], [-120.7, 480]], 480, 480),
        visibleOutline([[40, 30], [440, 30], [440, 450], [40, 450]], 480, 480),
        visibleOutline([[-50, 100], [300, -40], [560, 300], [200, 520]], 400, 400),
        visibleOutline([[500, 0], [900, 0], [900, 400], [500, 400]], 480, 480)])""")
    page.close()
    assert clipped[0] == {"points": [[0, 0], [480, 0], [480, 480], [0, 480]], "runsPast": True}
    assert clipped[1] == {"points": [[40, 30], [440, 30], [440, 450], [40, 450]], "runsPast": False}
    # The same answer as the case file's (tests/server/casefile/test_outline.py).
    assert clipped[2]["points"] == [[128.6, 400], [0, 184], [0, 80], [200, 0], [330.6, 0], [400, 90.8],
                                    [400, 397.8], [396.4, 400]]
    assert clipped[3] is None


def test_french_elides_before_a_name_that_begins_with_a_vowel_sound(paired: Browser):
    page = paired.open("popup.html", 400, 600)
    said = page.evaluate("""() => import('./js/i18n.js').then(({ elide, named, vowelSound }) => ({
        vowels: ['Alice', 'Éloïse', 'Hugo', 'Yves', 'Léa', 'Yann', '@alice', ''].map(vowelSound),
        french: ['une photo de ' + named('Alice'), 'De ' + named('Hélène'), 'le nom de ' + named('Léa'),
                 'que ' + named('Inès'), 'fonde ' + named('Alice')].map((m) => elide(m, 'fr')),
        english: elide('a photo de ' + named('Alice'), 'en-US'),
    }))""")
    page.close()
    assert said["vowels"] == [True, True, True, True, False, False, False, False]
    assert said["french"] == ["une photo d'Alice", "D'Hélène", "le nom de Léa", "qu'Inès", "fonde Alice"]
    assert said["english"] == "a photo de Alice"


def fits(page, panel: str, selector: str) -> list[str]:
    """The elements of `selector` whose box sticks out of their `panel` ancestor's (CSS px), by id or text."""
    return page.evaluate("""([panel, selector]) => [...document.querySelectorAll(selector)]
        .filter((element) => element.getClientRects().length)
        .filter((element) => {
            const box = element.getBoundingClientRect();
            const frame = element.closest(panel).getBoundingClientRect();
            return box.left < frame.left - 0.5 || box.right > frame.right + 0.5;
        })
        .map((element) => element.id || element.textContent.trim().slice(0, 40))""", [panel, selector])


def clipped(page, selector: str) -> list[str]:
    """The elements of `selector` whose text is cut (wider than the box that shows it)."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter((element) => element.getClientRects().length && element.scrollWidth > element.clientWidth)
        .map((element) => element.className + ': ' + element.textContent.trim().slice(0, 60))""", selector)


def check_popup(browser: Browser, alerts: dict, width: int, name: str) -> object:
    popup = browser.open("popup.html", width, 600)
    card = popup.locator(f'#alerts > li[data-alert-id="{alerts["impersonation"]["id"]}"]')
    expect(card).to_be_visible()
    browser.wait_until(lambda: images_loaded(popup, "#alerts img"))
    screenshot(popup, name)
    assert popup.evaluate("document.documentElement.scrollWidth") <= width
    assert fits(popup, ".alert-card", ".alert-card *") == []
    assert fits(popup, "body", ".bar *, .summary") == []
    return popup, card


def check_review(browser: Browser, alerts: dict, width: int, name: str) -> object:
    review = browser.open(f"review.html?alert={alerts['crop']['id']}", width, 1000)
    expect(review.locator("#detail")).to_have_attribute("data-alert-id", str(alerts["crop"]["id"]))
    expect(review.locator("#detail-outline")).to_be_visible()
    browser.wait_until(lambda: images_loaded(review))
    screenshot(review, name)
    assert fits(review, ".list-pane", "#filters, #filters label, #filters select, #filters input, #filters button") == []
    assert fits(review, ".list-pane", ".alert-row") == []
    selected = review.locator('.alert-row[aria-current="true"]')
    expect(selected).to_be_visible()
    assert clipped(review, '.alert-row[aria-current="true"] .row-text > *') == []
    assert fits(review, ".detail", "#detail > *, .compare figure, .facts dd") == []
    assert review.evaluate("document.documentElement.scrollWidth") <= width
    return review


@pytest.mark.parametrize("width", [360, 400])
def test_the_popup_names_the_account_that_pretends_and_fits(paired: Browser, alerts, width):
    popup, card = check_popup(paired, alerts, width, f"popup-{width}.png")
    expect(card.locator(".pretends")).to_have_text(f"@{IMPOSTOR} pretends to be {CHILD}")
    expect(card.locator(".photo-name")).to_have_text("kodim05.jpg")
    popup.close()


@pytest.mark.parametrize("width", [360, 400])
def test_the_popup_in_french_elides_and_fits(french: Browser, alerts, width):
    popup, card = check_popup(french, alerts, width, f"popup-fr-{width}.png")
    expect(card.locator(".pretends")).to_have_text(f"@{IMPOSTOR} se fait passer pour {CHILD}")
    expect(card.locator(".child")).to_have_text(f"d'{CHILD}")
    popup.close()


@pytest.mark.parametrize("width", [1280, 1024])
def test_the_review_page_outlines_what_the_crop_shows_and_fits(paired: Browser, alerts, width):
    review = check_review(paired, alerts, width, f"review-{width}.png")
    expect(review.locator("#detail-outline .stroke")).to_have_attribute("points", "0,0 480,0 480,480 0,480")
    expect(review.locator("#outline-note")).to_have_text(
        "The protected photo runs past this image's edges: outlined in red is the part shown.")
    # The outline's stroke shows along the image's four edges, in red.
    shot = review.locator("#detail-evidence").screenshot()
    pixels = numpy.asarray(Image.open(BytesIO(shot)).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 60) & (pixels[..., 2] < 90)
    for edge in (red[:, 1], red[:, -2], red[1, :], red[-2, :]):
        assert edge.mean() > 0.95
    review.locator(f'.alert-row[data-alert-id="{alerts["impersonation"]["id"]}"]').click()
    expect(review.locator("#detail-impersonation")).to_have_text(
        f"@{IMPOSTOR} pretends to be {CHILD}: its handle looks like one of {CHILD}'s own accounts.")
    assert clipped(review, '.alert-row[aria-current="true"] .row-text > *') == []
    review.close()


@pytest.mark.parametrize("width", [1280, 1024])
def test_the_review_page_in_french_elides_and_fits(french: Browser, alerts, width):
    review = check_review(french, alerts, width, f"review-fr-{width}.png")
    expect(review.locator("#outline-note")).to_have_text(
        "La photo protégée déborde des bords de cette image : la partie montrée est entourée de rouge.")
    review.locator(f'.alert-row[data-alert-id="{alerts["impersonation"]["id"]}"]').click()
    expect(review.locator("#detail-impersonation")).to_have_text(
        f"@{IMPOSTOR} se fait passer pour {CHILD} : son identifiant ressemble à l'un des comptes d'{CHILD}.")
    expect(review.locator("#detail-where")).to_contain_text(f"une photo d'{CHILD} comme photo de profil")
    assert fits(review, ".list-pane", "#filters label, #filters select, #filters input") == []
    assert clipped(review, '.alert-row[aria-current="true"] .row-text > *') == []
    screenshot(review, f"review-fr-{width}-impersonation.png")
    review.close()
