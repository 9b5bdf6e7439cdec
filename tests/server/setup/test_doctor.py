"""server/setup/doctor.py and `sentinelle doctor`: every check fails with its fix on a bare PC, and
all pass on a PC set up as the README says, with a real `sentinelle run`."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

from sentinelle.server.config import mitmproxy_dir
from sentinelle.server.contact import EXTENSION, Contacts
from sentinelle.server.setup.ca import write_ca
from sentinelle.server.setup.doctor import Check, as_text, check_channels, check_contact, check_disk, check_trust
from sentinelle.server.setup.plan import NO_BROWSER, Machine
from sentinelle.server.setup.trust import Runner
from tests.conftest import kodak
from tests.server.nss import FIREFOX, home_env, make_home, needs_certutil
from tests.support.certs import make_origin_certs
from tests.support.watcher import Watcher, free_port, sentinelle


def doctor(data_dir, home, *args):
    done = sentinelle(data_dir, "doctor", "--json", *args, check=False, env=home_env(home))
    return done.returncode, json.loads(done.stdout)


def test_on_a_bare_pc_every_check_says_what_to_do(tmp_path, data_dir):
    (tmp_path / "home").mkdir()
    code, report = doctor(data_dir, tmp_path / "home", "--proxy-port", str(free_port()),
                          "--api-port", str(free_port()))
    assert code == 1 and report["ok"] is False
    failed = {c["name"].split(" on ")[0].split(" (")[0]: c for c in report["checks"] if not c["ok"]}
    assert set(failed) == {"server listening", "proxy listening", "Sentinelle's CA",
                           "CA trusted by the browsers", "extension paired", "PAC active",
                           "photos enrolled", "images checked"}
    assert all(c["fix"] for c in failed.values())
    assert "sentinelle setup" in failed["Sentinelle's CA"]["fix"]
    assert "sentinelle token" in failed["extension paired"]["fix"]
    assert "sentinelle enroll" in failed["photos enrolled"]["fix"]
    passed = [c["name"] for c in report["checks"] if c["ok"]]
    assert passed == ["version", "alerts to your phone or mailbox", "disk space"]  # no channel is a choice


@needs_certutil
def test_on_a_pc_set_up_as_the_readme_says_every_check_passes(tmp_path, data_dir):
    home = tmp_path / "home"
    make_home(home)
    env = home_env(home)
    sentinelle(data_dir, "setup", "--no-system-store", env=env)
    sentinelle(data_dir, "enroll", "--child", "Alice", str(kodak(5)))
    certs = make_origin_certs(tmp_path / "origin", ["example.test"])
    watcher = Watcher(data_dir, {}, certs.ca_file)
    try:
        ports = ("--proxy-port", str(watcher.proxy_port), "--api-port", str(watcher.api_port))
        code, report = doctor(data_dir, home, *ports)
        assert code == 1
        assert {c["name"] for c in report["checks"] if not c["ok"]} == {
            "extension paired", "PAC active (only social sites go through Sentinelle)"}

        # The browser fetches the PAC; the extension calls the API with its token.
        urllib.request.urlopen(f"http://127.0.0.1:{watcher.api_port}/proxy.pac", timeout=5).read()
        assert watcher.api("GET", "/api/stats")[0] == 200
        code, report = doctor(data_dir, home, *ports)
        assert code == 0 and report["ok"], report
        trusted = [c["name"] for c in report["checks"] if c["name"].startswith("CA trusted by")]
        assert len(trusted) == 3  # Chromium and the two Firefox profiles
        paired = next(c for c in report["checks"] if c["name"] == "extension paired")
        assert paired["found"].startswith("last contact ")

        text = sentinelle(data_dir, "doctor", *ports, env=env).stdout
        assert text.endswith("All good.\n") and "✓ photos enrolled: 1" in text
    finally:
        watcher.stop()


@needs_certutil
def test_a_database_trusting_an_older_ca_is_reported(tmp_path, data_dir):
    home = tmp_path / "home"
    make_home(home)
    sentinelle(data_dir, "setup", "--no-system-store", env=home_env(home))
    # A new CA made without re-running setup: the browsers still trust the old one.
    write_ca(mitmproxy_dir(data_dir))
    _, report = doctor(data_dir, home)
    stale = [c for c in report["checks"] if c["name"].startswith("CA trusted by")]
    assert stale and all(not c["ok"] and "older" in c["found"] for c in stale)


@needs_certutil
def test_every_profile_found_is_listed_trusted_or_not(tmp_path, data_dir):
    home = tmp_path / "home"
    make_home(home)
    sentinelle(data_dir, "setup", "--no-system-store", env=home_env(home))
    # Made after setup: a profile Firefox used without leaving a database, a new one never opened.
    root = home / FIREFOX
    for folder, left in (("old.default", "prefs.js"), ("new.work", "times.json")):
        (root / folder).mkdir()
        (root / folder / left).write_text("{}")
    with (root / "profiles.ini").open("a") as ini:
        ini.write("\n[Profile2]\nName=old\nPath=old.default\n\n[Profile3]\nName=work\nPath=new.work\n")
    code, report = doctor(data_dir, home)
    assert code == 1
    trust = {c["name"]: c for c in report["checks"] if c["name"].startswith("CA trusted by")}
    assert [c["ok"] for c in trust.values()] == [True, True, True, False, False]
    old = trust[f"CA trusted by Firefox profile old.default ({root / 'old.default'})"]
    assert old["found"] == "no certificate database yet" and "about:profiles" in old["fix"]
    new = trust[f"CA trusted by Firefox profile new.work ({root / 'new.work'})"]
    assert new == {"name": new["name"], "ok": False, "found": "no certificate database yet",
                   "fix": "run `sentinelle setup`"}


def test_a_browser_without_a_profile_or_no_browser_at_all_fails_with_what_to_do(tmp_path, data_dir):
    write_ca(mitmproxy_dir(data_dir))
    home = Machine("Linux", tmp_path / "home")
    [firefox] = check_trust(data_dir, home, Runner(which={"firefox": "/usr/bin/firefox"}.get))
    assert (firefox.ok, firefox.found) == (False, "no profile yet")
    assert firefox.fix == "open Firefox once and close it, then run `sentinelle setup` again"
    [nothing] = check_trust(data_dir, home, Runner(which=lambda tool: None))
    assert not nothing.ok and nothing.fix == NO_BROWSER


def test_last_contact_is_shown_with_its_age(tmp_path):
    Contacts(tmp_path).touch(EXTENSION)
    check = check_contact(tmp_path, EXTENSION, now=datetime.now(UTC) + timedelta(minutes=5))
    assert check.ok and "(5 min ago)" in check.found


def test_low_disk_space_fails(tmp_path):
    assert not check_disk(tmp_path, min_free=1 << 60).ok
    assert check_disk(tmp_path / "not" / "yet", min_free=1).ok


def test_the_text_report_gives_each_fix_under_its_problem():
    text = as_text([Check("a", True, "fine"), Check("b", False, "broken", "do this")])
    assert text.splitlines() == ["✓ a: fine", "✗ b: broken", "    → do this", "1 problem(s) to fix."]


def test_doctor_says_how_many_images_were_checked_and_how_many_went_unchecked(tmp_path):
    from sentinelle.server.setup.doctor import check_images
    from sentinelle.server.watch_counts import write_counts

    assert not check_images(tmp_path).ok  # never ran
    write_counts(tmp_path, {"seen": 1000, "checked": 995, "matched": 1,
                            "skipped": {"shed: too many waiting": 5}, "waiting": 0})
    calm = check_images(tmp_path)
    assert calm.ok and "995 of 1000" in calm.found and "5 passed unchecked" in calm.found
    write_counts(tmp_path, {"seen": 1000, "checked": 900, "matched": 0,
                            "skipped": {"shed: too many waiting": 100}, "waiting": 0})
    busy = check_images(tmp_path)
    assert not busy.ok and "100 passed unchecked" in busy.found and busy.fix


def test_channels_none_is_a_choice_and_working_ones_pass(tmp_path):
    def no_store():
        raise AssertionError("no database yet: the store must not be opened (it would be made)")

    assert check_channels(tmp_path, no_store).ok
    (tmp_path / "sentinelle.db").touch()
    none = check_channels(tmp_path, lambda: [])
    assert none.ok and "only this PC's browser" in none.found
    working = [{"name": "phone", "failures": 0}, {"name": "mail", "failures": 0}]
    assert check_channels(tmp_path, lambda: working) == Check("alerts to your phone or mailbox", True, "phone, mail working")
