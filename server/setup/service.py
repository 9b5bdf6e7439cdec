"""Starting Sentinelle at login: a systemd user unit (Linux), a LaunchAgent (macOS), a
Task Scheduler task (Windows).

`service_plan()` is pure: it renders the file and lists the command lines that register,
remove and query it. The commands run through `server.setup.trust.Runner`, which says the exact
command to type where it cannot run one. Nothing here needs administrator rights: each
service is the parent's own, started when they log in.
"""

from __future__ import annotations

import plistlib
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from sentinelle.server.setup.trust import Command, Step

UNIT = "sentinelle.service"
LAUNCHD_LABEL = "org.sentinelle.watcher"
TASK_NAME = "Sentinelle"
LOG_FILE = "sentinelle.log"


@dataclass(frozen=True)
class ServicePlan:
    kind: str  # "systemd user unit", "LaunchAgent", "Task Scheduler task"
    file: Path  # what install writes and uninstall deletes
    content: str
    step: Step  # install / remove command lines
    status: Command


def sentinelle_command(data_dir: Path, python: str | None = None) -> list[str]:
    """The command line the service starts: this Python, this data dir."""
    return [python or sys.executable, "-m", "sentinelle.server", "--data-dir", str(data_dir), "run"]


def systemd_quote(arg: str) -> str:
    if arg and not any(c in arg for c in ' \t"\'\\$%;'):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")
    return f'"{escaped}"'


def systemd_unit(command: Sequence[str]) -> str:
    return (
        "[Unit]\n"
        "Description=Sentinelle: alerts when a child's protected photos appear on a social network\n"
        "Documentation=https://github.com/sentinelle/sentinelle#set-up-the-family-pc\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "WorkingDirectory=~\n"  # the home folder: Sentinelle is installed, it runs from anywhere

        f"ExecStart={' '.join(systemd_quote(a) for a in command)}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launch_agent(command: Sequence[str], workdir: Path, log: Path) -> str:
    return plistlib.dumps({
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(command),
        "WorkingDirectory": str(workdir),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "StandardOutPath": str(log),
        "StandardErrorPath": str(log),
        "ProcessType": "Background",
    }).decode()


def windows_command_line(args: Sequence[str]) -> str:
    """Arguments quoted as Windows' CommandLineToArgvW reads them."""
    return subprocess.list2cmdline(list(args))


def task_xml(command: Sequence[str], workdir: Path, user: str) -> str:
    """A Task Scheduler task: at this user's logon, as this user, without elevation."""
    program, arguments = command[0], windows_command_line(command[1:])
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\n'
        "  <RegistrationInfo><Description>Sentinelle: alerts when a child's protected photos "
        "appear on a social network</Description></RegistrationInfo>\n"
        f"  <Triggers><LogonTrigger><Enabled>true</Enabled><UserId>{escape(user)}</UserId>"
        "</LogonTrigger></Triggers>\n"
        f"  <Principals><Principal id=\"Author\"><UserId>{escape(user)}</UserId>"
        "<LogonType>InteractiveToken</LogonType><RunLevel>LeastPrivilege</RunLevel>"
        "</Principal></Principals>\n"
        "  <Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>"
        "<StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>"
        "<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>"
        "<RestartOnFailure><Interval>PT1M</Interval><Count>3</Count></RestartOnFailure>"
        "</Settings>\n"
        '  <Actions Context="Author"><Exec>'
        f"<Command>{escape(program)}</Command><Arguments>{escape(arguments)}</Arguments>"
        f"<WorkingDirectory>{escape(str(workdir))}</WorkingDirectory></Exec></Actions>\n"
        "</Task>\n"
    )


def service_plan(system: str, home: Path, data_dir: Path, *, uid: int = 0, user: str = "",
                 python: str | None = None) -> ServicePlan:
    """What `sentinelle service install` writes and runs on `system` (as platform.system())."""
    command = sentinelle_command(data_dir, python)
    if system == "Windows":
        file = data_dir / "sentinelle-task.xml"
        return ServicePlan(
            "Task Scheduler task", file, task_xml(command, home, user),
            Step(where=f"Task Scheduler task {TASK_NAME!r}",
                 install=(("schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(file), "/F"),),
                 remove=(("schtasks", "/Delete", "/TN", TASK_NAME, "/F"),)),
            status=("schtasks", "/Query", "/TN", TASK_NAME),
        )
    if system == "Darwin":
        file = home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        domain = f"gui/{uid}"
        return ServicePlan(
            "LaunchAgent", file, launch_agent(command, home, data_dir / LOG_FILE),
            Step(where=f"LaunchAgent {LAUNCHD_LABEL}",
                 before=(("launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"),),
                 install=(("launchctl", "bootstrap", domain, str(file)),),
                 remove=(("launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"),)),
            status=("launchctl", "print", f"{domain}/{LAUNCHD_LABEL}"),
        )
    file = home / ".config" / "systemd" / "user" / UNIT
    return ServicePlan(
        "systemd user unit", file, systemd_unit(command),
        Step(where=f"systemd user unit {UNIT}",
             install=(("systemctl", "--user", "daemon-reload"),
                      ("systemctl", "--user", "enable", "--now", UNIT)),
             remove=(("systemctl", "--user", "disable", "--now", UNIT),)),
        status=("systemctl", "--user", "is-active", UNIT),
    )
