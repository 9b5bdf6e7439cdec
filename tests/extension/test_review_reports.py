"""The review page's "Reported" button, in a real Chromium: the report is kept in the case (the
alert marked reported), the page says how long it has gone unanswered, past the parent's number
of days it shows the country's channels to escalate to, and the child's whole case downloads as a
case file that verifies, led by its timeline."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime

from playwright.sync_api import expect

from sentinelle.proxy.engine.matcher import Match
from sentinelle.proxy.feeds.attribution import Attribution
from sentinelle.proxy.fronts.sighting import Sighting
from sentinelle.server.casefile import case as casefile
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.extension.conftest import screenshot


def test_the_reported_button_keeps_the_report_and_escalates_when_unanswered(paired, server, tmp_path):
    attribution = Attribution(
        "instagram", "fake.alice", "https://www.instagram.com/fake.alice/",
        "https://www.instagram.com/p/C0dE/", "hi", "https://www.instagram.com/api/v1/feed/timeline/", "{}")
    store = Store(server.watcher.data_dir)
    photo_id = store.photos()[0]["id"]
    alert, _ = store.record_sighting(Sighting(
        datetime.now(UTC), "https://scontent.cdninstagram.com/v/reported.jpg", None, "scontent.cdninstagram.com",
        "instagram", "image/jpeg", square_crop_copy(kodak(5)), Match(photo_id, "crop 1:1", 0, 1.0), {}, attribution))
    store.close()
    review = paired.open(f"review.html?alert={alert['id']}", 1280, 1600)
    expect(review.locator("#detail")).to_have_attribute("data-alert-id", str(alert["id"]))
    expect(review.locator("#report-list li")).to_have_count(0)
    review.locator("#report-channel").select_option("pharos")
    review.locator("#report-ref").fill("PHAROS-2026-42")
    review.locator("#report-on").fill("2026-01-05")
    review.get_by_role("button", name="Save: I reported it").click()
    expect(review.locator("#report-line")).to_contain_text("Report kept in the case")
    expect(review.locator("#detail-status")).to_have_text("Reported")
    item = review.locator("#report-list li")
    expect(item).to_contain_text("Reported to Pharos on")
    expect(item).to_contain_text("(PHAROS-2026-42) — unanswered for")
    expect(item).to_have_class("overdue")
    # Past the parent's number of days: the country's channels to take it further.
    review.locator("#country").select_option("FR")
    review.locator("#escalate-days").fill("365")
    review.locator("#escalate-days").dispatch_event("change")
    expect(review.locator("#report-escalate")).to_be_hidden()
    review.locator("#escalate-days").fill("30")
    review.locator("#escalate-days").dispatch_event("change")
    expect(review.locator("#report-escalate")).to_be_visible()
    expect(review.locator("#escalate-steps")).to_contain_text("Pharos")
    screenshot(review, "review-reported.png")

    store = Store(server.watcher.data_dir)
    try:
        [report] = store.case_record(store.alert(alert["id"])["case_id"])["reports"]
        assert (report["handle"], report["channel"], report["ref"]) == ("fake.alice", "pharos", "PHAROS-2026-42")
    finally:
        store.close()
    with review.expect_download() as info:
        review.get_by_role("button", name="Download her whole case (timeline first)").click()
    path = tmp_path / "case.zip"
    info.value.save_as(path)
    assert casefile.verify(path).ok
    with zipfile.ZipFile(path) as z:
        timeline = json.loads(z.read("case.json"))["timeline"]
        assert any(e["kind"] == "report" and "PHAROS-2026-42" in e["text"] for e in timeline)
