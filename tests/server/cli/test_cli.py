"""server/cli/main.py: every command as a parent types it, on a real data dir."""

from __future__ import annotations

import json
import re
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from sentinelle.server.alerts import enroll
from sentinelle.server.cli.main import cli
from sentinelle.server.store.records import Store
from tests.conftest import jpeg_bytes, kodak, square_crop_copy
from tests.server.store.test_store import sighting


@pytest.fixture
def run(data_dir):
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """Two photos, a copy of one in a sub-folder, a note, a broken JPEG and a tiny image."""
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(kodak(5).read_bytes())
    (folder / "b.jpg").write_bytes(kodak(15).read_bytes())
    (folder / "sub" / "copy-of-a.jpg").write_bytes(square_crop_copy(kodak(5)))
    (folder / "notes.txt").write_text("not a photo")
    (folder / "broken.jpg").write_bytes(kodak(20).read_bytes()[:3000])
    (folder / "tiny.png").write_bytes(jpeg_bytes(Image.new("RGB", (40, 40), "red")))
    return folder


def commands() -> list[str]:
    return sorted(cli.commands)


def test_every_command_is_listed_and_has_help_with_an_example(run):
    """Each is documented with its options in docs/parents.md: tests/test_docs.py."""
    listing = run("--help").output
    for name in commands():
        assert re.search(rf"^\s+{name}\s", listing, re.M), name
        assert "Example" in run(name, "--help").output, name


def test_enroll_takes_files_and_folders_and_says_what_it_skipped(run, mixed_folder):
    result = run("enroll", "--child", "Alice", str(mixed_folder / "a.jpg"), str(mixed_folder))
    out = result.output
    assert "Enrolled 3 photo(s); 1 already enrolled; 3 skipped." in out
    assert re.search(r"skipped .*notes\.txt: not an image", out)
    assert re.search(r"skipped .*broken\.jpg: truncated or corrupt image", out)
    assert re.search(r"skipped .*tiny\.png: too small", out)
    again = run("enroll", str(mixed_folder / "a.jpg")).output
    assert "Enrolled 0 photo(s); 1 already enrolled" in again


def test_enroll_reads_a_zip_export_as_a_folder_of_its_pictures(run, tmp_path):
    export = tmp_path / "instagram-alice.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("media/posts/202301/1.jpg", kodak(5).read_bytes())
        archive.writestr("media/posts/202302/2.jpg", kodak(15).read_bytes())
        archive.writestr("media/posts/202303/broken.jpg", kodak(20).read_bytes()[:3000])
        archive.writestr("media/archived/old.zip", b"PK\x05\x06" + bytes(18))
        archive.writestr("content/posts_1.json", "[]")
        archive.writestr("media/reels/1.mp4", b"\x00\x00\x00\x18ftypmp42")
    out = run("enroll", "--child", "Alice", str(export)).output
    assert "Enrolled 2 photo(s); 0 already enrolled; 2 skipped." in out
    assert f"skipped {export}:media/posts/202303/broken.jpg: truncated or corrupt image" in out
    assert f"skipped {export}:media/archived/old.zip: an archive inside the archive is not opened" in out
    assert "left alone 2 other file(s) in the archives (not pictures)." in out
    assert [line.split()[1] for line in run("photos").output.splitlines()] == ["1.jpg", "2.jpg"]


def test_a_photo_that_cannot_be_fingerprinted_is_named_and_the_rest_go_on(run, mixed_folder, monkeypatch):
    # A fault of Sentinelle's own on one photo (here, made to happen on kodim15's size) says so in
    # a line, with no traceback, and the photos after it are enrolled.
    real = enroll.protected_views

    def failing_on_one(img):
        if img.size == (768, 512):
            raise struct.error("ubyte format requires 0 <= number <= 255")
        return real(img)

    monkeypatch.setattr(enroll, "protected_views", failing_on_one)
    (mixed_folder / "b.jpg").write_bytes(jpeg_bytes(Image.open(kodak(15)).resize((768, 512))))
    out = run("enroll", str(mixed_folder / "b.jpg"), str(mixed_folder / "a.jpg")).output
    assert "Enrolled 1 photo(s); 0 already enrolled; 1 skipped." in out
    assert ("b.jpg: Sentinelle could not fingerprint it (please report this)"
            " (struct.error: ubyte format requires 0 <= number <= 255)") in out
    assert "Traceback" not in out
    assert [line.split()[1] for line in run("photos").output.splitlines()] == ["a.jpg"]


def test_enroll_fails_only_when_nothing_could_be_enrolled(run, mixed_folder):
    run("enroll", str(mixed_folder / "notes.txt"), code=1)
    run("enroll", str(mixed_folder / "notes.txt"), str(mixed_folder / "a.jpg"), code=0)


def test_check_json_answers_for_each_file_of_a_mixed_folder(run, mixed_folder, tmp_path):
    run("enroll", "--child", "Alice", str(kodak(5)))
    out = run("check", "--json", str(mixed_folder)).output
    lines = {Path(d["file"]).name: d for d in map(json.loads, out.splitlines())}
    assert set(lines) == {"a.jpg", "b.jpg", "copy-of-a.jpg", "notes.txt", "broken.jpg", "tiny.png"}
    assert lines["copy-of-a.jpg"]["match"]["photo"] == "kodim05.jpg"
    assert lines["copy-of-a.jpg"]["match"]["child"] == "Alice"
    assert 0 < lines["copy-of-a.jpg"]["match"]["score"] <= 1
    # Where: the 768 × 512 photo, its centre square cut and made 480 px, spans x -120 to 600.
    region = lines["copy-of-a.jpg"]["match"]["region"]
    expected = [[-120, 0], [600, 0], [600, 480], [-120, 480]]
    assert all(abs(a - b) <= 6 for corner, want in zip(region, expected, strict=True) for a, b in zip(corner, want)), region
    assert lines["a.jpg"]["match"]["photo"] == "kodim05.jpg"
    assert lines["b.jpg"] == {"file": str(mixed_folder / "b.jpg"), "match": None}
    assert lines["notes.txt"]["error"] == "not an image" and lines["notes.txt"]["match"] is None
    assert "error" in lines["broken.jpg"]
    single = json.loads(run("check", "--json", str(mixed_folder / "b.jpg")).output)
    assert single == {"file": str(mixed_folder / "b.jpg"), "match": None}
    human = run("check", str(mixed_folder / "sub" / "copy-of-a.jpg")).output
    assert "COPY of kodim05.jpg of Alice" in human


def test_photos_and_forget_by_name_or_number(run):
    run("enroll", "--child", "Alice", str(kodak(5)), str(kodak(15)))
    listing = run("photos").output
    assert "kodim05.jpg  (Alice)" in listing and "kodim15.jpg" in listing
    assert "Forgot kodim05.jpg" in run("forget", "kodim05.jpg").output
    number = re.search(r"^\s*(\d+)\s+kodim15", run("photos").output, re.M).group(1)
    run("forget", number)
    assert "No photo enrolled yet" in run("photos").output
    assert "no enrolled photo" in run("forget", "kodim05.jpg", code=1).output


def test_forget_takes_several_photos_and_forgets_none_when_one_is_unknown(run):
    run("enroll", str(kodak(5)), str(kodak(15)), str(kodak(20)))
    numbers = re.findall(r"^\s*(\d+)\s", run("photos").output, re.M)
    assert "no enrolled photo '99'" in run("forget", *numbers[:2], "99", code=1).output
    assert len(re.findall(r"^\s*\d+\s", run("photos").output, re.M)) == 3
    out = run("forget", numbers[0], "kodim15.jpg", numbers[0]).output
    assert out.splitlines() == [f"Forgot kodim05.jpg (#{numbers[0]}).", f"Forgot kodim15.jpg (#{numbers[1]})."]
    assert "kodim20.jpg" in run("photos").output and "kodim05" not in run("photos").output


def test_log_lists_alerts_newest_first(run, data_dir):
    assert "No alert" in run("log").output
    run("enroll", str(kodak(5)))
    store = Store(data_dir)
    photo_id = store.photos()[0]["id"]
    store.record_sighting(sighting(photo_id, "https://cdn/old.jpg", minutes=0))
    store.record_sighting(sighting(photo_id, "https://cdn/new.jpg", minutes=3))
    store.close()
    rows = [json.loads(line) for line in run("log", "--json").output.splitlines()]
    assert [r["image_url"] for r in rows] == ["https://cdn/new.jpg", "https://cdn/old.jpg"]
    human = run("log").output
    assert human.index("new.jpg") < human.index("old.jpg") and "instagram" in human


def test_token_is_created_once_and_private(run, data_dir):
    first = run("token").output.strip()
    assert len(first) >= 32 and run("token").output.strip() == first
    assert stat.S_IMODE((data_dir / "token").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_the_data_dir_defaults_to_sentinelle_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTINELLE_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["token"])
    assert result.exit_code == 0
    assert (tmp_path / "home" / "token").read_text().strip() == result.output.strip()


@pytest.mark.parametrize("option", [
    "sentinelle_extra_hosts=not a domain",   # a bad value
    "sentinelle_extra_host=example.net",     # a typo: not silently ignored
    "save_stream_file=flows.mitm",           # an add-on Sentinelle's proxy does not run
])
def test_run_refuses_a_bad_option_clearly(run, option):
    result = run("run", "--proxy-port", "0", "--api-port", "0", "--set", option, code=1)
    assert option.split("=")[0] in result.output and "Traceback" not in result.output
