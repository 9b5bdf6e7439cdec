"""server/setup/trust.py and `sentinelle setup` / `uninstall`: real NSS databases in a temporary HOME;
the system store, Windows and macOS as the command lines they produce (never run here)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from sentinelle.server.cli.main import cli
from sentinelle.server.config import mitmproxy_dir
from sentinelle.server.setup import trust
from sentinelle.server.setup.browsers import CHROMIUM_PROGRAMS, FIREFOX_PROGRAMS
from sentinelle.server.setup.ca import load_ca
from sentinelle.server.setup.plan import NO_BROWSER, Machine, setup, uninstall
from sentinelle.server.setup.trust import NICKNAME, Runner, plan
from tests.server.nss import make_home, needs_certutil, trust_flags, trusted_pem


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def sentinelle(data_dir, home):
    """`sentinelle …` as the parent types it, with HOME pointing at the temporary home (and the
    XDG folders left to their defaults under it). Never touches the system store: these tests
    may run as root on a real machine."""
    runner = CliRunner()

    def run(*args: str, code: int = 0, input: str | None = None):
        result = runner.invoke(cli, ["--data-dir", str(data_dir), *args], input=input,
                               env={"HOME": str(home), "XDG_DATA_HOME": None, "XDG_CONFIG_HOME": None},
                               catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def on_this_pc(*browsers: str) -> Runner:
    """A runner that runs the real commands, on a PC whose only browser programs are `browsers`."""
    return Runner(which=lambda tool: shutil.which(tool) if tool in (*browsers, "certutil", "mkdir")
                  else None)


@needs_certutil
def test_setup_trusts_the_ca_in_chromium_and_every_firefox_profile_and_uninstall_removes_it(
        sentinelle, data_dir, home):
    dbs = make_home(home)
    chromium, used, spare = dbs
    out = sentinelle("setup", "--no-system-store")
    ca = load_ca(mitmproxy_dir(data_dir))
    for db in dbs:
        assert x509.load_pem_x509_certificate(trusted_pem(db).encode()) == ca.certificate
        assert trust_flags(db) == "C,,"  # a trusted CA for web sites, nothing else
        assert f"undo: certutil -D -d sql:{db} -n 'Sentinelle local CA'" in out
    # Chromium had not made its database yet, nor Firefox the one of the profile it never opened.
    assert f"Chromium/Chrome ({chromium}): done (a new database, where the browser reads it)." in out
    assert f"Firefox profile a1b2.default ({spare}): done (a new database" in out
    assert f"Firefox profile k3x9.default-esr ({used}): done." in out
    assert not (home / ".pki").exists()
    assert "PRIVATE KEY" not in out
    assert [spec[-1] for spec in json.loads((data_dir / trust.RECORD_FILE).read_text())] == [
        "made", "made", str(used)]

    # Again: still one entry per database, nothing added twice, the made ones still noted so.
    out = sentinelle("setup", "--no-system-store")
    assert all(trust_flags(db) == "C,," for db in dbs) and "a new database" not in out
    assert len(json.loads((data_dir / trust.RECORD_FILE).read_text())) == len(dbs)

    out = sentinelle("uninstall", "--purge")
    assert all(trusted_pem(db) is None for db in dbs)
    assert not data_dir.exists() and "Deleted" in out
    assert all((db / "cert9.db").exists() for db in dbs)  # the browsers' databases stay, made or not
    assert out.count("The database setup made stays") == 2


@needs_certutil
def test_dry_run_shows_the_steps_and_changes_nothing(sentinelle, data_dir, home):
    chromium, used, spare = make_home(home)
    out = sentinelle("setup", "--dry-run", "--no-system-store")
    assert "Would create the data dir" in out and not data_dir.exists()
    for db in (chromium, used, spare):
        assert f"certutil -A -d sql:{db} -n 'Sentinelle local CA' -t C,, -i " in out
    for db in (chromium, spare):
        assert f"certutil -N -d sql:{db} --empty-password" in out
    assert f"certutil -N -d sql:{used} " not in out
    assert trusted_pem(used) is None
    assert not chromium.exists() and not (spare / "cert9.db").exists()


@needs_certutil
def test_a_new_ca_replaces_the_old_one_in_every_database(sentinelle, data_dir, home):
    dbs = make_home(home)
    sentinelle("setup", "--no-system-store")
    old = load_ca(mitmproxy_dir(data_dir)).certificate
    sentinelle("setup", "--no-system-store", "--new-ca")
    new = load_ca(mitmproxy_dir(data_dir)).certificate
    assert new != old
    for db in dbs:
        assert x509.load_pem_x509_certificates(trusted_pem(db).encode()) == [new]


@needs_certutil
def test_uninstall_asks_before_deleting_the_data_dir(sentinelle, data_dir, home):
    make_home(home)
    sentinelle("setup", "--no-system-store")
    out = sentinelle("uninstall", input="n\n")
    assert data_dir.exists() and "Kept" in out
    sentinelle("uninstall", input="y\n")
    assert not data_dir.exists()


def test_with_no_browser_at_all_setup_says_to_install_one_and_fails(data_dir, tmp_path):
    said: list[str] = []
    machine = Machine("Linux", tmp_path / "home")
    assert not setup(data_dir, machine, on_this_pc(), said.append, system_store=False)
    assert f"  ! {NO_BROWSER}" in said and "Install one" in NO_BROWSER
    assert not any("open the browser once" in line for line in said)


@needs_certutil
def test_firefox_never_opened_is_named_with_what_to_do_and_setup_fails(data_dir, tmp_path):
    said: list[str] = []
    home = tmp_path / "home"
    ok = setup(data_dir, Machine("Linux", home), on_this_pc("firefox-esr"), said.append,
               system_store=False)
    assert not ok
    assert (f"  ! Firefox ({home / '.config/mozilla/firefox'}): not done: no profile yet: open "
            "Firefox once and close it, then run `sentinelle setup` again.") in said


@needs_certutil
def test_chromium_gets_its_database_where_its_xdg_data_folder_says(data_dir, tmp_path):
    home, data = tmp_path / "home", tmp_path / "xdg-data"
    machine = Machine("Linux", home, env={"XDG_DATA_HOME": str(data)})
    assert setup(data_dir, machine, on_this_pc("chromium"), lambda line: None, system_store=False)
    assert trusted_pem(data / "pki" / "nssdb") is not None
    assert not home.exists()  # neither ~/.pki nor ~/.local/share


@needs_certutil
def test_a_database_chromium_made_before_m146_is_the_one_trusted(data_dir, tmp_path):
    home = tmp_path / "home"
    legacy = home / ".pki" / "nssdb"
    legacy.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{legacy}", "--empty-password"], check=True)
    assert setup(data_dir, Machine("Linux", home), on_this_pc("chromium"), lambda line: None,
                 system_store=False)
    assert trusted_pem(legacy) is not None and not (home / ".local").exists()


# -- command lines, never run here ----------------------------------------------------------

CA = Path("/data/mitmproxy/mitmproxy-ca-cert.pem")


def test_the_linux_system_store_commands():
    [debian] = plan("Linux", CA, Path("/nohome"), serial="ab", sha1="CD", debian_like=True)
    assert debian.install == (("cp", str(CA), "/usr/local/share/ca-certificates/sentinelle.crt"),
                              ("update-ca-certificates",))
    assert debian.remove == (("rm", "-f", "/usr/local/share/ca-certificates/sentinelle.crt"),
                             ("update-ca-certificates", "--fresh"))
    [p11] = plan("Linux", CA, Path("/nohome"), serial="ab", sha1="CD", debian_like=False)
    assert p11.install == (("trust", "anchor", "--store", str(CA)),)
    assert p11.remove == (("trust", "anchor", "--remove", str(CA)),)
    assert debian.needs_admin and p11.needs_admin
    assert plan("Linux", CA, Path("/nohome"), serial="ab", sha1="CD", system_store=False) == []


def test_the_windows_commands_trust_the_ca_for_this_user_only():
    [step] = plan("Windows", CA, Path("C:/Users/me"), serial="1f2e", sha1="AB12")
    assert step.install == (("certutil", "-user", "-addstore", "Root", str(CA)),)
    assert step.remove == (("certutil", "-user", "-delstore", "Root", "1f2e"),)
    assert not step.needs_admin


def test_the_macos_commands_use_the_login_keychain():
    home = Path("/Users/me")
    keychain = "/Users/me/Library/Keychains/login.keychain-db"
    [step] = plan("Darwin", CA, home, serial="1f2e", sha1="AB12")
    assert step.install == (("security", "add-trusted-cert", "-r", "trustRoot", "-p", "ssl",
                             "-k", keychain, str(CA)),)
    assert step.remove == (("security", "remove-trusted-cert", str(CA)),
                           ("security", "delete-certificate", "-Z", "AB12", keychain))


class FakeCommands:
    def __init__(self, fail: str | None = None):
        self.ran: list[tuple[str, ...]] = []
        self.fail = fail

    def __call__(self, command):
        self.ran.append(command)
        code = 1 if self.fail and self.fail in command else 0
        return subprocess.CompletedProcess(command, code, "", "boom" if code else "")


SYSTEM = trust.linux_system_step(CA, debian_like=True)


def test_without_administrator_rights_it_prints_the_exact_command():
    commands = FakeCommands()
    runner = Runner(run=commands, which=lambda tool: f"/usr/bin/{tool}", is_admin=False)
    outcome = runner.install(SYSTEM)
    assert outcome.status == "manual" and commands.ran == []
    assert outcome.commands == [
        f"sudo cp {CA} /usr/local/share/ca-certificates/sentinelle.crt",
        "sudo update-ca-certificates"]


def test_a_missing_tool_is_named_with_how_to_get_it():
    step = trust.nss_step("Chromium/Chrome", Path("/h/.pki/nssdb"), CA)
    outcome = Runner(run=FakeCommands(), which=lambda tool: None).install(step)
    assert outcome.status == "manual" and "certutil not found" in outcome.detail
    assert "libnss3-tools" in outcome.detail
    assert outcome.commands == [f"certutil -A -d sql:/h/.pki/nssdb -n 'Sentinelle local CA' "
                                f"-t C,, -i {CA}"]


def test_a_failing_command_stops_the_step_and_says_why():
    commands = FakeCommands(fail="update-ca-certificates")
    outcome = Runner(run=commands, which=lambda t: t, is_admin=True).install(SYSTEM)
    assert outcome.status == "failed" and outcome.detail == "boom"


def test_what_was_done_or_left_to_the_parent_is_recorded_for_uninstall(data_dir):
    data_dir.mkdir()
    nss = trust.nss_step("Firefox profile x", Path("/h/.mozilla/firefox/x"), CA)
    windows = trust.windows_step(CA, "1f2e")
    failed = trust.macos_step(CA, "AB", Path("/Users/me"))
    trust.record(data_dir, [trust.Outcome(SYSTEM, "manual"), trust.Outcome(nss, "done"),
                            trust.Outcome(windows, "done"), trust.Outcome(failed, "failed")])
    assert trust.recorded(data_dir, CA) == [SYSTEM, nss, windows]
    trust.forget(data_dir, [SYSTEM, nss, windows])
    assert trust.recorded(data_dir, CA) == [] and not (data_dir / trust.RECORD_FILE).exists()


def test_the_record_holds_no_command_so_an_edited_one_runs_nothing_else(data_dir):
    data_dir.mkdir()
    (data_dir / trust.RECORD_FILE).write_text(json.dumps([
        {"where": "x", "remove": [["rm", "-rf", "/"]]}, ["shell", "rm -rf /"],
        ["system", "rm -rf /"], ["nss", "Chromium/Chrome", "/h/.pki/nssdb", "rm -rf /"],
        ["nss", "Chromium/Chrome", "/h/.pki/nssdb"], ["nss", "Firefox profile p", "/h/p", "made"]]))
    chromium, made = trust.recorded(data_dir, CA)
    assert chromium.remove == (("certutil", "-D", "-d", "sql:/h/.pki/nssdb", "-n", NICKNAME),)
    # A database setup made is only emptied of the CA, like any other: never deleted.
    assert made.makes_db and made.remove == (("certutil", "-D", "-d", "sql:/h/p", "-n", NICKNAME),)


def test_purge_keeps_only_the_certificate_while_a_removal_is_left_to_the_parent(data_dir, tmp_path):
    machine = Machine("Linux", tmp_path / "nohome")
    no_browser = {*CHROMIUM_PROGRAMS, *FIREFOX_PROGRAMS}
    no_rights = Runner(run=FakeCommands(), which=lambda tool: None if tool in no_browser else tool,
                       is_admin=False)
    said: list[str] = []
    assert not setup(data_dir, machine, no_rights, said.append)  # the system store needs sudo
    assert "sudo update-ca-certificates" in "\n".join(said)
    assert [s.where for s in trust.recorded(data_dir, CA)] == [
        "Linux system store (update-ca-certificates)"]

    assert not uninstall(data_dir, machine, no_rights, said.append, purge=True)
    assert "sudo update-ca-certificates --fresh" in "\n".join(said)
    left = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*") if p.is_file())
    assert left == ["mitmproxy/mitmproxy-ca-cert.pem"]  # the key is gone: it can sign nothing


def test_a_trust_the_parent_already_removed_is_forgotten(data_dir, tmp_path):
    data_dir.mkdir()
    step = trust.nss_step("Chromium/Chrome", tmp_path / "db", CA)
    trust.record(data_dir, [trust.Outcome(step, "done")])
    gone = Runner(run=lambda c: subprocess.CompletedProcess(c, 255, "", ""), which=lambda t: t)
    said: list[str] = []
    assert uninstall(data_dir, Machine("Linux", tmp_path), gone, said.append, purge=False)
    assert "already removed" in said[1] and trust.recorded(data_dir, CA) == []


@needs_certutil
def test_extra_hosts_need_a_new_ca(sentinelle, data_dir, home):
    make_home(home)
    sentinelle("setup", "--no-system-store")
    out = sentinelle("setup", "--no-system-store", "--extra-host", "Example-Social.net")
    assert "cannot vouch for example-social.net: add --new-ca" in out
    out = sentinelle("setup", "--no-system-store", "--extra-host", "example-social.net", "--new-ca")
    assert "CA created" in out and "cannot vouch" not in out and "Restart Sentinelle" in out
    sentinelle("setup", "--no-system-store", "--extra-host", "not a domain", code=2)
