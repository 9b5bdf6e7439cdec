"""server/casefile/case.py and `sentinelle export` / `verify`: the case file opened and checked as its reader would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import replace
from html import escape
from pathlib import Path

import numpy
import pytest
from click.testing import CliRunner
from PIL import Image

from sentinelle.proxy.engine.matcher import Match
from sentinelle.server.casefile import case as casefile
from sentinelle.server.casefile import glyphs, pictures
from sentinelle.server.cli.main import cli
from sentinelle.server.extension_files import extension_file
from sentinelle.server.store.records import Store
from sentinelle.server.words import WORDS
from tests.conftest import kodak, square_crop_copy
from tests.server.api.conftest import AUTH, api  # noqa: F401 (a fixture)
from tests.server.store.test_store import enroll, sighting
from tests.server.store.test_store_attribution import posted_by
from tests.support.watcher import ROOT


def record(store: Store, photo_id: int, account: str | None, url: str, body: bytes, minutes: int = 0,
           caption: str = "hello") -> dict:
    s = replace(sighting(photo_id, url, body=body, minutes=minutes),
                match=Match(photo_id=photo_id, view="crop 1:1", distance=4, score=0.97),
                attribution=replace(posted_by(account), caption=caption) if account else None,
                response_headers={"date": "Wed, 25 Nov 2026 08:00:00 GMT", "server": "proxygen-bolt"})
    return store.record_sighting(s)[0]


@pytest.fixture
def store(data_dir):
    data_dir.mkdir()
    store = Store(data_dir)
    photo = enroll(store, 5)
    copy = square_crop_copy(kodak(5))
    record(store, photo["id"], "fake.account.123", "https://scontent.cdninstagram.com/v/a.jpg?sig=1", copy)
    record(store, photo["id"], "fake.account.123", "https://scontent.cdninstagram.com/v/b.jpg", copy + b"\0", 2)
    record(store, photo["id"], None, "https://scontent.cdninstagram.com/v/c.jpg", square_crop_copy(kodak(5), 300), 4)
    yield store
    store.close()


def rewrite(path: Path, out: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of a ZIP with members replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name not in change:
                dst.writestr(name, src.read(name))
        for name, data in change.items():
            if data is not None:
                dst.writestr(name, data)
    return out


def test_the_case_file_holds_the_report_the_evidence_and_a_manifest_of_every_file(store, tmp_path):
    case = casefile.collect(store, account="fake.account.123")
    assert [a["account"] for a in case.alerts] == ["fake.account.123"]
    path = tmp_path / "case.zip"
    path.write_bytes(casefile.build(case, "en", "FR"))
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
        listed = {f["path"]: f["sha256"] for f in manifest["files"]}
        assert names == set(listed) | {"manifest.json", "SHA256SUMS"}
        for name, digest in listed.items():
            assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
        sightings = json.loads(z.read("sightings.json"))
        [alert] = sightings
        assert len(alert["sightings"]) == 2
        for s in alert["sightings"]:
            evidence = z.read(s["evidence_path"])
            assert hashlib.sha256(evidence).hexdigest() == s["evidence_sha256"]  # the bytes as received
            assert s["attribution"]["account"] == "fake.account.123"
            assert s["response_headers"]["date"] == "Wed, 25 Nov 2026 08:00:00 GMT"
        report = z.read("report.html").decode()
        assert "posted by @fake.account.123 on Instagram" in report
        assert 'href="https://www.instagram.com/p/C0dE/"' in report
        assert 'href="https://www.instagram.com/fake.account.123/"' in report
        for s in alert["sightings"]:
            assert s["evidence_sha256"] in report and s["image_url"] in report
        assert 'src="photos/protected-1.jpg"' in report and "photos/protected-1.jpg" in names
        # Where to report: the platform's forms and the country's help lines, from the one data file.
        steps = json.loads(extension_file(casefile.NEXT_STEPS).read_text())
        for entry in steps["platforms"]["instagram"] + steps["countries"]["FR"]["help"]:
            assert entry["url"] in report
        assert "3018" in report and "Pharos" in report
        assert z.read("report.pdf").startswith(b"%PDF")
    assert casefile.verify(path).ok


def test_the_report_is_in_french_with_the_help_lines_of_the_country(store, tmp_path):
    html = _member(casefile.build(casefile.collect(store, [1, 2]), "fr", "US"), "report.html").decode()
    assert "publiée par @fake.account.123 sur Instagram" in html and 'lang="fr"' in html
    assert "vue sur Instagram (compte non indiqué par le flux)" in html  # alert 2: no feed named it
    assert "CyberTipline" in html or "NCMEC" in html


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs pdftoppm (Debian: poppler-utils)")
def test_the_pdf_renders_with_both_photos_on_the_first_page(store, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(_member(casefile.build(casefile.collect(store, [1]), "en", "GB"), "report.pdf"))
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    with Image.open(pages[0]) as first:
        page = numpy.asarray(first.convert("RGB")).astype(int)
    height, width, _ = page.shape
    # Side by side under the alert's heading: the protected photo (left) beside the copy (right).
    # A picture is a tall block of rows mostly covered with ink; lines of text and rules are not.
    def picture_rows(region):
        return (region.min(axis=2) < 200).mean(axis=1) > 0.5

    side_by_side = picture_rows(page[:, : width // 2]) & picture_rows(page[:, width // 2:])
    runs, start = [], None
    for row, both in enumerate([*side_by_side, False]):
        if both and start is None:
            start = row
        elif not both and start is not None:
            runs.append((start, row - start))
            start = None
    top, tall = max(runs, key=lambda run: run[1])
    assert tall > 0.1 * height  # both pictures, more than a tenth of the page high
    assert top > 0.25 * height  # under the title and the summary
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "posted by @fake.account.123 on Instagram" in text
    assert "Report Harmful Content" in text


def test_characters_the_pdf_font_lacks_are_described_by_name():
    vera = glyphs.drawable(glyphs.fonts()[0])  # the font's own character map
    describe = glyphs.describe_missing
    assert describe("trop drôle 😂🔥", vera) == "trop drôle [face with tears of joy][fire]"
    assert describe("🇫🇷", vera) == "[regional indicator symbol letter f][regional indicator symbol letter r]"
    # A ZWJ sequence: its people named, the joiners and the emoji presentation selector dropped.
    assert describe("👨\u200d👩\u200d👧 ❤\ufe0f", vera) == "[man][woman][girl] [heavy black heart]"
    assert describe("你好", vera) == "[cjk unified ideograph-4f60][cjk unified ideograph-597d]"
    assert describe("\ue000\u0378", vera) == "[U+E000][U+0378]"  # private use, unassigned: no name
    assert describe("a\u3000b\nc", vera) == "a b\nc"  # a space the font lacks; the line break kept
    kept = "é ç ß À Œ ÿ « » — • € naïve café Straße"
    assert describe(kept, vera) == kept


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext (Debian: poppler-utils)")
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_pdf_describes_emoji_the_html_and_sightings_json_keep_them(store, tmp_path, lang):
    caption = "trop drôle 😂🔥 ça"
    alert = record(store, 1, "second.account", "https://scontent.cdninstagram.com/v/d.jpg",
                   square_crop_copy(kodak(5), 280), caption=caption)
    case = tmp_path / "case.zip"
    case.write_bytes(casefile.build(casefile.collect(store, [alert["id"]]), lang, "FR"))
    assert casefile.verify(case).ok
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(_member(case.read_bytes(), "report.pdf"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "trop drôle [face with tears of joy][fire] ça" in text
    note = " ".join(WORDS["glyphs"][lang].split()[:6])  # the note that says so
    assert note in " ".join(text.split())
    html = _member(case.read_bytes(), "report.html").decode()
    assert caption in html and "[face with tears of joy]" not in html and note in html
    [public] = json.loads(_member(case.read_bytes(), "sightings.json"))
    assert public["sightings"][0]["attribution"]["caption"] == caption


def test_a_changed_added_or_removed_file_is_caught(store, tmp_path):
    path = tmp_path / "case.zip"
    path.write_bytes(casefile.build(casefile.collect(store, [1]), "en", "FR"))
    with zipfile.ZipFile(path) as z:
        evidence = next(n for n in z.namelist() if n.startswith("evidence/"))
        manifest = json.loads(z.read("manifest.json"))
    changed = rewrite(path, tmp_path / "changed.zip", {evidence: b"\xff\xd8 a forged image"})
    assert any("changed" in p and evidence in p for p in casefile.verify(changed).problems)
    removed = rewrite(path, tmp_path / "removed.zip", {"report.pdf": None})
    assert casefile.verify(removed).problems == ["report.pdf: missing"]
    added = rewrite(path, tmp_path / "added.zip", {"evidence/extra.jpg": b"x"})
    assert casefile.verify(added).problems == ["evidence/extra.jpg: added (not in the manifest)"]
    # A forger who also rewrites the manifest: the evidence's own name gives it away,
    # and the manifest's SHA-256 noted at export no longer matches.
    forged = b"\xff\xd8 a forged image"
    for f in manifest["files"]:
        if f["path"] == evidence:
            f["sha256"] = hashlib.sha256(forged).hexdigest()
    both = rewrite(path, tmp_path / "both.zip", {evidence: forged, "manifest.json": json.dumps(manifest).encode()})
    verdict = casefile.verify(both)
    assert any("its name is not its SHA-256" in p for p in verdict.problems)
    assert verdict.manifest_sha256 != casefile.verify(path).manifest_sha256
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert not casefile.verify(tmp_path / "junk.zip").ok


def test_an_evidence_file_deleted_from_the_data_dir_is_said_missing(store, tmp_path):
    [first, *_] = store.sightings(1)
    (store.evidence_dir / first["evidence_file"]).unlink()
    path = tmp_path / "case.zip"
    path.write_bytes(casefile.build(casefile.collect(store, [1]), "en", "FR"))
    assert casefile.verify(path).ok
    sightings = json.loads(_member(path.read_bytes(), "sightings.json"))[0]["sightings"]
    assert [s.get("evidence_missing") for s in sightings] == [True, None]
    assert "missing from Sentinelle" in _member(path.read_bytes(), "report.html").decode()


def test_export_and_verify_commands(store, data_dir, tmp_path):
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    out = tmp_path / "case.zip"
    said = run("export", "--account", "@fake.account.123", "--lang", "fr", "--country", "fr", "-o", str(out))
    assert f"Case file: {out} (1 alert(s)" in said and "SHA-256 of its manifest" in said
    assert "all" in run("verify", str(out)) and "match the manifest" in run("verify", str(out))
    tampered = rewrite(out, tmp_path / "tampered.zip", {"report.html": b"<p>nothing happened</p>"})
    said = run("verify", str(tampered), code=1)
    assert "✗ report.html: changed" in said and "TAMPERED" in said
    assert "no alert 99" in run("export", "99", code=1)
    assert "no alert names the account" in run("export", "--account", "nobody", code=1)
    assert "name at least one alert" in run("export", code=1)


async def test_the_api_returns_the_case_file_as_a_zip(api, tmp_path):
    photo = enroll(api.store, 5)
    record(api.store, photo["id"], "fake.account.123", "https://cdn/a.jpg", square_crop_copy(kodak(5)))
    response = await api.get("/api/casefile?alert=1&lang=fr&country=FR", headers=AUTH)
    assert response.status == 200 and response.content_type == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="sentinelle-case-')
    path = tmp_path / "case.zip"
    path.write_bytes(await response.read())
    assert casefile.verify(path).ok
    by_account = await api.get("/api/casefile?account=fake.account.123", headers=AUTH)
    assert by_account.status == 200
    for query, status in (("", 400), ("?alert=7", 404), ("?alert=x", 400), ("?account=nobody", 404)):
        response = await api.get("/api/casefile" + query, headers=AUTH)
        assert response.status == status, query
        assert "error" in await response.json()
    assert (await api.get("/api/casefile?alert=1")).status == 401


def _member(zip_bytes: bytes, name: str) -> bytes:
    import io
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return z.read(name)


def test_a_crop_is_outlined_where_it_shows_the_photo_and_says_the_photo_runs_past(store):
    """A centre crop's region has two corners left and right of the image: what is drawn is
    the region clipped to the image, its edges, and the caption says why."""
    photo_id = store.photos()[0]["id"]
    copy = square_crop_copy(kodak(5))  # 480 × 480 of a 768 × 512 photo
    region = ((-120.7, 0.0), (600.7, 0.0), (600.7, 480.0), (-120.7, 480.0))
    s = replace(sighting(photo_id, "https://scontent.cdninstagram.com/v/crop.jpg", body=copy),
                match=Match(photo_id=photo_id, view="crop 1:1", distance=4, score=0.97, region=region))
    alert, _ = store.record_sighting(s)
    for lang in ("en", "fr"):
        html = _member(casefile.build(casefile.collect(store, [alert["id"]]), lang, "FR"), "report.html").decode()
        assert '<polygon points="0,0 480,0 480,480 0,480" clip-path="url(#outline-' in html
        assert escape(WORDS["outlined_part"][lang]) in html
    # The PDF's picture: red along all four edges, the photo's own pixels inside.
    drawn = pictures.pdf_image(lambda out, width, height: out, copy, 100,
                              pictures.outline_on(copy, [list(p) for p in region])[0])
    pixels = numpy.asarray(Image.open(drawn).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 100)
    for edge in (red[:, 0], red[:, -1], red[0, :], red[-1, :]):
        assert edge.mean() > 0.9
    assert red[20:-20, 20:-20].mean() < 0.01


@pytest.mark.parametrize("hostile", ["javascript:alert(document.domain)//", " javascript:alert(1)",
                                     "java\tscript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x"])
def test_only_web_addresses_are_links_in_the_report(data_dir, hostile):
    # An address a feed gave (Facebook's node.url, probe of issue 30) is shown, never followed.
    data_dir.mkdir()
    store = Store(data_dir)
    try:
        photo = enroll(store, 5)
        s = replace(sighting(photo["id"], "https://scontent.xx.fbcdn.net/v/a.jpg", body=square_crop_copy(kodak(5))),
                    attribution=replace(posted_by("Feed Poster", platform="facebook"), post_url=hostile,
                                        account_url=hostile, repost="media", first_account="First",
                                        first_account_url="https://www.facebook.com/first", first_post_url=hostile))
        store.record_sighting(s)
        data = casefile.build(casefile.collect(store, [1]), "en", "OTHER")
    finally:
        store.close()
    html = _member(data, "report.html").decode()
    links = re.findall(r'href="([^"]*)"', html)
    assert "https://www.facebook.com/first" in links and all(link.startswith("https://") for link in links), links
    assert _escaped(hostile) in html  # shown, as text
    pdf = _member(data, "report.pdf")
    targets = re.findall(rb"/URI \((.*?)\)", pdf)
    assert b"https://www.facebook.com/first" in targets and all(t.startswith(b"https://") for t in targets), targets


def _escaped(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")


def test_export_writes_the_case_file_for_its_owner_alone(store, data_dir, tmp_path):
    out = tmp_path / "case.zip"
    out.write_bytes(b"an older one, readable by all")
    out.chmod(0o644)
    previous = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "export", "1", "-o", str(out)],
                                    catch_exceptions=False)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and casefile.verify(out).ok


def peak_memory_of_verify(path: Path) -> tuple[int, str]:
    """(peak resident bytes, output) of `sentinelle verify PATH`, run as a parent would."""
    process = subprocess.Popen([sys.executable, "-m", "sentinelle.server", "verify", str(path)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss * 1024, output


def test_verify_hashes_a_member_a_block_at_a_time(store, tmp_path):
    # The probe: a small case file with a member of gigabytes, listed in its manifest.
    path = tmp_path / "case.zip"
    path.write_bytes(casefile.build(casefile.collect(store, [1]), "en", "FR"))
    baseline, said = peak_memory_of_verify(path)
    assert "match the manifest" in said
    inflated = 768 * 2**20
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as dst:
        manifest = json.loads(src.read("manifest.json"))
        manifest["files"].append({"path": "evidence/zeros.bin", "sha256": "0" * 64, "bytes": inflated})
        for name in src.namelist():
            if name != "manifest.json":
                dst.writestr(name, src.read(name))
        dst.writestr("manifest.json", json.dumps(manifest))
        with dst.open("evidence/zeros.bin", "w", force_zip64=True) as member:
            block = bytes(2**20)
            for _ in range(inflated // len(block)):
                member.write(block)
    assert big.stat().st_size < 4 * 2**20
    peak, said = peak_memory_of_verify(big)
    assert "evidence/zeros.bin: changed" in said and "TAMPERED" in said
    assert peak - baseline < 32 * 2**20, (baseline, peak)
