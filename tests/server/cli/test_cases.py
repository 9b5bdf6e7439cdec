"""server/cli/cases.py (`sentinelle reported`, `sentinelle case`) and `sentinelle export --case`:
a report joins the case, the timeline shows accounts, reports, takedowns and returns in order,
and the case file leads with it, verified."""

from __future__ import annotations

import json
import subprocess
import zipfile

import pytest
from click.testing import CliRunner

from sentinelle.server.cli.main import cli
from sentinelle.server.store.records import Store
from tests.server.store.test_cases import gone, post
from tests.server.store.test_store import enroll


def run(data_dir, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def a_case(data_dir) -> None:
    """Alice's case: @fake.alice shows her photo, is reported, taken down, and comes back as @alice.again."""
    data_dir.mkdir(exist_ok=True)
    store = Store(data_dir)
    try:
        photo = enroll(store, 5, "Alice Martin")
        store.record_sighting(post(photo["id"], "fake.alice", 1))
    finally:
        store.close()


def taken_down_and_back(data_dir) -> None:
    """@fake.alice's profile answered 404 a day on; three days on, @alice.again shows the same photo."""
    store = Store(data_dir)
    try:
        store.record_takedown(gone("fake.alice", 1))
        store.record_sighting(post(store.photos()[0]["id"], "alice.again", 4, days=3))
    finally:
        store.close()


def test_reported_then_case_shows_the_report_the_takedown_and_the_return_in_order(data_dir):
    a_case(data_dir)
    done = run(data_dir, "reported", "@fake.alice", "--channel", "pharos", "--ref", "PHAROS-42", "--on", "2026-11-25")
    assert done.exit_code == 0, done.output
    assert "Reported @fake.alice to pharos on 2026-11-25 12:00 UTC (reference PHAROS-42): kept in case #1." in done.output
    taken_down_and_back(data_dir)
    shown = run(data_dir, "case", "Alice")
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if line.startswith("  20")]
    kinds = [line.split(")")[1].split()[0] for line in lines]
    assert kinds == ["account", "sighting", "report", "taken", "account", "sighting", "return"], shown.output
    assert "@fake.alice reported to Pharos, reference PHAROS-42 (answered: taken down less than a day later)" in shown.output
    assert "Came back as @alice.again, 2 days after @fake.alice was taken down" in shown.output
    as_json = json.loads(run(data_dir, "case", "Alice Martin", "--json").output)
    assert [a["handle"] for a in as_json["accounts"]] == ["fake.alice", "alice.again"]
    assert as_json["accounts"][0]["taken_down"] and as_json["reports"][0]["answered"]


def test_an_unanswered_report_is_due_to_be_escalated_after_the_parent_s_days(data_dir):
    a_case(data_dir)
    assert run(data_dir, "reported", "1", "--on", "2026-11-01").exit_code == 0
    shown = run(data_dir, "case", "--escalate-after", "3")
    assert "time to escalate" in shown.output and "1 report(s) unanswered for 3 days or more" in shown.output


def test_a_report_of_nothing_known_is_refused(data_dir):
    a_case(data_dir)
    refused = run(data_dir, "reported", "@nobody")
    assert refused.exit_code == 1 and "no alert or watched account is named '@nobody'" in refused.output
    assert run(data_dir, "reported", "1", "--on", "last week").exit_code == 1


def test_an_alert_moved_to_a_case_of_its_own(data_dir):
    a_case(data_dir)
    moved = run(data_dir, "case", "--move", "1", "--to", "new")
    assert moved.exit_code == 0 and "Alert #1 is now in case #2." in moved.output
    assert "Case #2" in run(data_dir, "case").output


TIMELINE_SAYS = {
    "en": ("Timeline", ["@fake.alice on Instagram first seen", "@fake.alice reported to the platform's form, reference IG-1",
                        "@fake.alice taken down: Instagram answered HTTP 404",
                        "Came back as @alice.again, 2 days after @fake.alice was taken down"]),
    "fr": ("Chronologie", ["@fake.alice sur Instagram vu pour la première fois",
                           "@fake.alice signalé via le formulaire de la plateforme, référence IG-1",
                           "@fake.alice supprimé : Instagram a répondu HTTP 404",
                           "Revenu sous le nom @alice.again, 2 jours après la suppression de @fake.alice"]),
}
ENGLISH_ONLY = ("first seen", "reported to", "taken down", "came back", "unanswered", "her photo")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_export_case_leads_with_the_timeline_in_its_language_and_verifies(data_dir, tmp_path, lang):
    a_case(data_dir)
    run(data_dir, "reported", "@fake.alice", "--ref", "IG-1", "--on", "2026-11-25")
    taken_down_and_back(data_dir)
    out = tmp_path / "case.zip"
    made = run(data_dir, "export", "--case", "Alice Martin", "--country", "FR", "--lang", lang, "-o", str(out))
    assert made.exit_code == 0, made.output
    assert run(data_dir, "verify", str(out)).exit_code == 0
    with zipfile.ZipFile(out) as z:
        case = json.loads(z.read("case.json"))
        assert [e["kind"] for e in case["timeline"]][-1] == "return"
        [page] = [e["evidence_file"] for e in case["events"] if e["kind"] == "taken_down"]
        assert z.read(f"evidence/{page}") == gone("x", 0).body
        (tmp_path / "report.pdf").write_bytes(z.read("report.pdf"))
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    # The timeline's table wraps its sentences: read them as one line of words.
    first_page = " ".join(text.split("\f")[0].replace("’", "'").split())
    heading, sentences = TIMELINE_SAYS[lang]
    assert heading in first_page
    at = [first_page.find(sentence) for sentence in sentences]
    assert -1 not in at and at == sorted(at), (at, first_page)
    if lang == "fr":
        assert not [words for words in ENGLISH_ONLY if words in first_page.lower()], first_page
        assert "226-4-1" in text and "Ceci n'est pas un conseil juridique" in text.replace("’", "'")
