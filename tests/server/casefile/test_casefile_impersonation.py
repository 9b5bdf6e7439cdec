"""The case file and `sentinelle log` of an impersonation alert: the report leads with the
platform's impersonation form, and names the account as the feeds showed it."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import zipfile
from dataclasses import replace
from io import BytesIO

import pytest
from click.testing import CliRunner

from sentinelle.server.casefile import case as casefile
from sentinelle.server.cli.main import cli
from sentinelle.server.store.records import Store
from tests.conftest import kodak, square_crop_copy
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by
from tests.server.store.test_watchlist import lookalike

FORM = "https://help.instagram.com/contact/636276399721841"


@pytest.fixture
def store(data_dir):
    data_dir.mkdir()
    store = Store(data_dir)
    photo = enroll(store, 5, child="Alice Martin")
    store.record_lookalike(lookalike())
    picture = replace(posted_by("alice.martin_2014"), shown_as="profile_picture", display_name="Alice Martin",
                      post_url="https://www.instagram.com/alice.martin_2014/")
    store.record_sighting(replace(sighting(photo["id"], "https://scontent.cdninstagram.com/v/t51.2885-19/9_n.jpg",
                                           body=square_crop_copy(kodak(5), 150)), attribution=picture))
    yield store
    store.close()


def files_of(store: Store, lang: str = "en") -> dict[str, bytes]:
    built = casefile.build(casefile.collect(store, account="alice.martin_2014"), lang, "FR")
    with zipfile.ZipFile(BytesIO(built)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_report_leads_with_the_impersonation_form_and_names_the_account(store):
    report = html.unescape(files_of(store)["report.html"].decode())
    lead = report.index("First: report the account as impersonation: Instagram")
    assert lead < report.index(FORM) < report.index("Summary")
    assert "@alice.martin_2014 pretends to be Alice Martin on Instagram: it uses her photo as its profile picture" in report
    assert "Name shown</th><td>Alice Martin" in report
    assert "its handle looks like Alice Martin's full name" in report
    # The search result that showed the account, as the feed sent it.
    assert 'https://www.instagram.com/api/v1/users/search/<br>{"username":"alice.martin_2014"}' in report
    # Among the platform's channels too, its impersonation form comes first.
    channels = report[report.index("Where to report: Instagram"):]
    assert channels.index(FORM) < channels.index("https://help.instagram.com/contact/504521742987441")


def test_in_french_and_in_sightings_json_too(store):
    files = files_of(store, "fr")
    report = html.unescape(files["report.html"].decode())
    assert "D'abord : signaler le compte pour usurpation d'identité : Instagram" in report
    assert "@alice.martin_2014 se fait passer pour Alice Martin sur Instagram : il utilise sa photo comme photo de profil" in report
    assert "son identifiant ressemble au nom complet d'Alice Martin" in report
    [alert] = json.loads(files["sightings.json"])
    assert alert["kind"] == "impersonation" and alert["watch"]["handle"] == "alice.martin_2014"


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext (Debian: poppler-utils)")
def test_the_pdf_leads_with_the_form_too(store, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(files_of(store)["report.pdf"])
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert text.index("First: report the account as impersonation: Instagram") < text.index("Summary")
    assert "pretends to be Alice Martin on Instagram" in text


def test_the_log_says_impersonation_first(store):
    data_dir = store.evidence_dir.parent
    out = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "log"]).output
    assert "IMPERSONATION: @alice.martin_2014 pretends to be Alice Martin (its profile picture)" in out
    [line] = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "log", "--json"]).output.splitlines()
    assert json.loads(line)["kind"] == "impersonation"
