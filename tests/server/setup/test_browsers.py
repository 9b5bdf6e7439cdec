"""server/setup/browsers.py over home folders laid out as each browser build leaves them (the
databases here are empty files: what is found, not what it holds; test_trust.py and
tests/extension/test_setup_trust.py use real ones)."""

from __future__ import annotations

from pathlib import Path

from sentinelle.server.setup.browsers import (
    OPEN_FIREFOX,
    OPEN_PROFILE,
    Home,
    Store,
    firefox_profiles,
    installed,
    stores,
)

ALL = frozenset({"chromium", "firefox"})


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def db(folder: Path) -> Path:
    touch(folder / "cert9.db")
    return folder


def home_of(tmp_path: Path, **env: str) -> Home:
    return Home.of(tmp_path / "home", env)


def test_xdg_folders_come_from_the_environment_when_absolute(tmp_path):
    home = tmp_path / "home"
    assert Home.of(home, {}) == Home(home, home / ".local/share", home / ".config")
    assert Home.of(home, {"XDG_DATA_HOME": "/x/data", "XDG_CONFIG_HOME": "/x/config"}) == Home(
        home, Path("/x/data"), Path("/x/config"))
    assert Home.of(home, {"XDG_DATA_HOME": "relative/data"}).data == home / ".local/share"


def test_chromium_without_a_database_gets_one_made_where_it_reads(tmp_path):
    home = home_of(tmp_path)
    assert stores(home, frozenset({"chromium"})) == [
        Store("Chromium/Chrome", home.path / ".local/share/pki/nssdb", make=True)]
    xdg = home_of(tmp_path, XDG_DATA_HOME=str(tmp_path / "data"))
    assert stores(xdg, frozenset({"chromium"})) == [
        Store("Chromium/Chrome", tmp_path / "data/pki/nssdb", make=True)]


def test_chromium_reads_an_existing_pki_database_first_and_both_are_trusted(tmp_path):
    home = home_of(tmp_path)
    legacy = db(home.path / ".pki/nssdb")
    assert stores(home, frozenset({"chromium"})) == [Store("Chromium/Chrome", legacy)]
    current = db(home.path / ".local/share/pki/nssdb")
    assert stores(home, frozenset()) == [Store("Chromium/Chrome", legacy),
                                         Store("Chromium/Chrome", current)]


def test_chromium_counts_when_its_profile_is_there_or_its_database_is(tmp_path):
    home = home_of(tmp_path)
    assert stores(home, frozenset()) == []
    (home.path / ".config/google-chrome").mkdir(parents=True)
    assert [s.make for s in stores(home, frozenset())] == [True]
    made = db(home.path / ".local/share/pki/nssdb")
    assert stores(home_of(tmp_path), frozenset()) == [Store("Chromium/Chrome", made)]


def test_the_chromium_snap_reads_under_its_own_home_once_it_has_started(tmp_path):
    home = home_of(tmp_path)
    [waiting] = stores(home, frozenset({"chromium-snap"}))
    assert waiting.todo.startswith("not started yet: open Chromium once")
    current = home.path / "snap/chromium/current"
    current.mkdir(parents=True)
    assert stores(home, frozenset({"chromium-snap"})) == [
        Store("Chromium (snap)", current / ".local/share/pki/nssdb", make=True)]
    legacy = db(current / ".pki/nssdb")
    assert stores(home, frozenset()) == [Store("Chromium (snap)", legacy)]


def test_a_chromium_flatpak_reads_its_own_data_folder(tmp_path):
    home = home_of(tmp_path)
    (home.path / ".var/app/com.google.Chrome").mkdir(parents=True)
    assert stores(home, frozenset({"org.chromium.Chromium"})) == [
        Store("Chromium (flatpak)", home.path / ".var/app/org.chromium.Chromium/data/pki/nssdb", make=True),
        Store("Chrome (flatpak)", home.path / ".var/app/com.google.Chrome/data/pki/nssdb", make=True)]


def test_firefox_profiles_come_from_profiles_ini_in_every_place_firefox_keeps_them(tmp_path):
    home = home_of(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "config"))
    legacy = home.path / ".mozilla/firefox"
    touch(legacy / "profiles.ini", "[Profile0]\nName=default\nIsRelative=1\nPath=old1.default\n")
    old = db(legacy / "old1.default")
    xdg = tmp_path / "config/mozilla/firefox"
    elsewhere = db(tmp_path / "elsewhere/work")
    touch(xdg / "profiles.ini", "[Profile0]\nName=default-esr\nIsRelative=1\nPath=esr1.default-esr\n\n"
                                f"[Profile1]\nName=work\nIsRelative=0\nPath={elsewhere}\n\n"
                                "[Profile2]\nName=gone\nIsRelative=1\nPath=gone.default\n\n"
                                "[General]\nStartWithLastProfile=1\n")
    esr = db(xdg / "esr1.default-esr")
    unlisted = db(xdg / "x9.unlisted")
    snap = db(home.path / "snap/firefox/common/.mozilla/firefox/snap1.default")
    flatpak = db(home.path / ".var/app/org.mozilla.firefox/.mozilla/firefox/fp1.default-release")
    found = stores(home, frozenset({"firefox"}))
    assert [s.db for s in found] == [old, esr, elsewhere, unlisted, snap, flatpak]
    assert all(not s.make and not s.todo for s in found)
    assert found[1].label == "Firefox profile esr1.default-esr"


def test_a_firefox_profile_never_opened_gets_a_database_an_opened_one_waits_for_firefox(tmp_path):
    home = home_of(tmp_path)
    root = home.path / ".config/mozilla/firefox"
    touch(root / "profiles.ini", "[Profile0]\nPath=new.default\n\n[Profile1]\nPath=old.default\n")
    touch(root / "new.default/times.json", "{}")
    touch(root / "old.default/cert8.db")  # Firefox converts it at its next start
    assert stores(home, frozenset({"firefox"})) == [
        Store("Firefox profile new.default", root / "new.default", make=True),
        Store("Firefox profile old.default", root / "old.default", todo=OPEN_PROFILE)]


def test_firefox_installed_without_a_profile_is_reported_not_skipped(tmp_path):
    home = home_of(tmp_path)
    assert stores(home, frozenset()) == []
    [waiting] = stores(home, frozenset({"firefox"}))
    assert waiting.todo == OPEN_FIREFOX and waiting.db == home.path / ".config/mozilla/firefox"


def test_a_damaged_profiles_ini_still_finds_the_databases(tmp_path):
    root = tmp_path / "firefox"
    touch(root / "profiles.ini", "Path=no section\n[Profile0\n")
    profile = db(root / "p.default")
    assert firefox_profiles(root) == [profile]


def test_installed_browsers_are_found_by_program_snap_and_flatpak(tmp_path):
    home = home_of(tmp_path)
    root = tmp_path / "root"
    assert installed(home, lambda p: None, root) == frozenset()
    assert installed(home, {"google-chrome-stable": "/usr/bin/google-chrome-stable",
                            "firefox-esr": "/usr/bin/firefox-esr"}.get, root) == ALL
    (root / "snap/chromium").mkdir(parents=True)
    (root / "var/lib/flatpak/app/org.mozilla.firefox").mkdir(parents=True)
    (home.data / "flatpak/app/com.google.Chrome").mkdir(parents=True)
    assert installed(home, lambda p: None, root) == frozenset(
        {"chromium-snap", "com.google.Chrome", "firefox"})
