"""server/setup/service.py: the login service of each system, rendered and checked; Linux's verified
by systemd itself. Registration commands are faked: they would touch the real machine."""

from __future__ import annotations

import configparser
import plistlib
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sentinelle.server.setup.plan import (
    Machine,
    install_service,
    remove_service,
    service_status,
)
from sentinelle.server.setup.service import LAUNCHD_LABEL, service_plan, systemd_quote
from sentinelle.server.setup.trust import Runner

DATA = Path("/home/me/.local/share/sentinelle data")  # a space, as a parent's folder may have


def test_the_systemd_user_unit_starts_sentinelle_run_at_login():
    plan = service_plan("Linux", Path("/home/me"), DATA)
    assert plan.file == Path("/home/me/.config/systemd/user/sentinelle.service")
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str
    unit.read_string(plan.content)
    assert unit["Install"]["WantedBy"] == "default.target"
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["WorkingDirectory"] == "~"  # home, not the source folder: the package is installed
    assert shlex.split(unit["Service"]["ExecStart"]) == [
        sys.executable, "-m", "sentinelle.server", "--data-dir", str(DATA), "run"]
    assert plan.step.install[-1] == ("systemctl", "--user", "enable", "--now", "sentinelle.service")
    assert plan.step.remove == (("systemctl", "--user", "disable", "--now", "sentinelle.service"),)
    assert plan.status == ("systemctl", "--user", "is-active", "sentinelle.service")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_itself_finds_nothing_wrong_with_the_unit(tmp_path):
    data = tmp_path / "my data $HOME %h"
    plan = service_plan("Linux", tmp_path, data)
    unit = tmp_path / "sentinelle.service"
    unit.write_text(plan.content)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_systemd_quoting():
    assert systemd_quote("/usr/bin/python3") == "/usr/bin/python3"
    assert systemd_quote("/a b/$x%y") == '"/a b/$$x%%y"'


def test_the_launch_agent_runs_at_load_and_restarts_after_a_crash():
    plan = service_plan("Darwin", Path("/Users/me"), DATA, uid=501)
    assert plan.file == Path(f"/Users/me/Library/LaunchAgents/{LAUNCHD_LABEL}.plist")
    agent = plistlib.loads(plan.content.encode())
    assert agent["Label"] == LAUNCHD_LABEL and agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["ProgramArguments"] == [sys.executable, "-m", "sentinelle.server", "--data-dir", str(DATA), "run"]
    assert agent["WorkingDirectory"] == "/Users/me"  # not the source folder: the package is installed
    assert plan.step.install == (("launchctl", "bootstrap", "gui/501", str(plan.file)),)
    assert plan.step.remove == (("launchctl", "bootout", f"gui/501/{LAUNCHD_LABEL}"),)


def test_the_scheduled_task_starts_at_this_users_logon_without_elevation():
    data = Path(r"C:\Users\me\AppData\Local\sentinelle")
    plan = service_plan("Windows", Path(r"C:\Users\me"), data, user=r"PC\me",
                        python=r"C:\Program Files\Python311\python.exe")
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    task = ET.fromstring(plan.content.encode("utf-16"))
    assert task.find("t:Triggers/t:LogonTrigger/t:UserId", ns).text == r"PC\me"
    assert task.find("t:Principals/t:Principal/t:RunLevel", ns).text == "LeastPrivilege"
    assert task.find("t:Actions/t:Exec/t:Command", ns).text == r"C:\Program Files\Python311\python.exe"
    assert task.find("t:Actions/t:Exec/t:Arguments", ns).text == (
        r"-m sentinelle.server --data-dir C:\Users\me\AppData\Local\sentinelle run")
    assert plan.step.install == (("schtasks", "/Create", "/TN", "Sentinelle", "/XML",
                                  str(plan.file), "/F"),)
    assert plan.step.remove == (("schtasks", "/Delete", "/TN", "Sentinelle", "/F"),)


class Commands:
    def __init__(self, status_code: int = 0):
        self.ran = []
        self.status_code = status_code

    def __call__(self, command):
        self.ran.append(command)
        code = self.status_code if "is-active" in command else 0
        return subprocess.CompletedProcess(command, code, "active\n" if code == 0 else "inactive\n", "")


def test_install_writes_the_unit_and_enables_it_uninstall_undoes_both(tmp_path):
    machine = Machine("Linux", tmp_path / "home")
    commands = Commands()
    runner = Runner(run=commands, which=lambda tool: tool)
    said: list[str] = []
    assert install_service(tmp_path / "data", machine, runner, said.append)
    unit = tmp_path / "home/.config/systemd/user/sentinelle.service"
    assert unit.is_file() and commands.ran == [
        ("systemctl", "--user", "daemon-reload"),
        ("systemctl", "--user", "enable", "--now", "sentinelle.service")]
    assert "undo: systemctl --user disable --now sentinelle.service" in "\n".join(said)
    assert service_status(tmp_path / "data", machine, runner)[0]
    assert not service_status(tmp_path / "data", machine,
                              Runner(run=Commands(status_code=3), which=lambda t: t))[0]

    assert remove_service(tmp_path / "data", machine, runner, said.append)
    assert not unit.exists()
    assert commands.ran[-1] == ("systemctl", "--user", "disable", "--now", "sentinelle.service")
    ok, found = service_status(tmp_path / "data", machine, runner)
    assert not ok and "not installed" in found


def test_without_systemctl_it_says_what_to_type(tmp_path):
    machine = Machine("Linux", tmp_path / "home")
    said: list[str] = []
    assert not install_service(tmp_path / "data", machine, Runner(which=lambda t: None), said.append)
    assert "systemctl --user enable --now sentinelle.service" in "\n".join(said)
