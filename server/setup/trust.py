"""Making the browsers trust Sentinelle's CA, and undoing exactly that.

`plan()` is pure: from the system, the home folder and the NSS databases found there, it
lists the steps, each with the command lines that install the CA and those that remove
it. `Runner` carries them out, or, where it cannot (no administrator rights, a tool
missing, `--dry-run`), says the exact command for the parent to type. What was installed
is recorded in the data dir (`trust.json`) so that `sentinelle uninstall` removes that and
nothing else. The record holds what each step was (`spec`), never command lines: uninstall
rebuilds the commands with the functions below, so an edited record cannot run anything else.

Where each browser looks:
- Linux: Chromium and Chrome read the NSS database `~/.pki/nssdb`; Firefox one NSS
  database per profile; other programs the system store (needs root).
- Windows: the user's Root store (Chrome, Edge; Firefox ≥ 120 reads it too).
- macOS: the login keychain (Safari, Chrome; Firefox ≥ 120 reads it too).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sentinelle.proxy.files import write_atomically

NICKNAME = "Sentinelle local CA"
RECORD_FILE = "trust.json"
DEBIAN_ANCHOR = Path("/usr/local/share/ca-certificates/sentinelle.crt")

Command = tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """One place that trusts the CA. `install` and `remove` are command lines run in order;
    `before` are clean-ups whose failure does not matter (a previous Sentinelle CA)."""

    where: str
    install: tuple[Command, ...]
    remove: tuple[Command, ...]
    check: Command | None = None  # exits 0 when the CA is trusted there
    before: tuple[Command, ...] = ()
    needs_admin: bool = False
    tool_hint: str = ""  # how to get the tool when it is missing
    spec: tuple[str, ...] = ()  # what rebuilds this step (see `from_spec`)


@dataclass
class Outcome:
    step: Step
    status: str  # "done", "dry-run", "manual" (the parent must type it), "failed"
    detail: str = ""
    commands: list[str] = field(default_factory=list)


# -- where the browsers look ------------------------------------------------------------

def nss_databases(home: Path) -> list[tuple[str, Path]]:
    """The NSS databases (cert9.db) of Chromium/Chrome and of each Firefox profile under `home`."""
    found: list[tuple[str, Path]] = []
    for label, db in (("Chromium/Chrome", home / ".pki" / "nssdb"),
                      ("Chromium (snap)", home / "snap" / "chromium" / "current" / ".pki" / "nssdb")):
        if (db / "cert9.db").is_file():
            found.append((label, db))
    for root in (home / ".mozilla" / "firefox",
                 home / "snap" / "firefox" / "common" / ".mozilla" / "firefox",
                 home / ".var" / "app" / "org.mozilla.firefox" / ".mozilla" / "firefox"):
        for db in sorted(root.glob("*/cert9.db")) if root.is_dir() else ():
            found.append((f"Firefox profile {db.parent.name}", db.parent))
    return found


def nss_step(label: str, db: Path, ca_file: Path) -> Step:
    target = f"sql:{db}"
    return Step(
        where=f"{label} ({db})",
        before=(("certutil", "-D", "-d", target, "-n", NICKNAME),),
        install=(("certutil", "-A", "-d", target, "-n", NICKNAME, "-t", "C,,", "-i", str(ca_file)),),
        remove=(("certutil", "-D", "-d", target, "-n", NICKNAME),),
        check=("certutil", "-L", "-d", target, "-n", NICKNAME),
        tool_hint="install it: sudo apt install libnss3-tools (Fedora: nss-tools)",
        spec=("nss", label, str(db)),
    )


def linux_system_step(ca_file: Path, debian_like: bool) -> Step:
    if debian_like:
        return Step(
            where="Linux system store (update-ca-certificates)",
            install=(("cp", str(ca_file), str(DEBIAN_ANCHOR)), ("update-ca-certificates",)),
            remove=(("rm", "-f", str(DEBIAN_ANCHOR)), ("update-ca-certificates", "--fresh")),
            check=("test", "-f", str(DEBIAN_ANCHOR)),
            needs_admin=True,
            spec=("system", "debian"),
        )
    return Step(
        where="Linux system store (p11-kit trust)",
        install=(("trust", "anchor", "--store", str(ca_file)),),
        remove=(("trust", "anchor", "--remove", str(ca_file)),),
        needs_admin=True,
        spec=("system", "p11-kit"),
    )


def windows_step(ca_file: Path, serial: str) -> Step:
    return Step(
        where="Windows: your Root certificate store (Chrome, Edge, Firefox 120+)",
        install=(("certutil", "-user", "-addstore", "Root", str(ca_file)),),
        remove=(("certutil", "-user", "-delstore", "Root", serial),),
        check=("certutil", "-user", "-verifystore", "Root", serial),
        spec=("windows", serial),
    )


def macos_step(ca_file: Path, sha1: str, home: Path) -> Step:
    keychain = str(home / "Library" / "Keychains" / "login.keychain-db")
    return Step(
        where="macOS: your login keychain (Safari, Chrome, Firefox 120+)",
        install=(("security", "add-trusted-cert", "-r", "trustRoot", "-p", "ssl",
                  "-k", keychain, str(ca_file)),),
        remove=(("security", "remove-trusted-cert", str(ca_file)),
                ("security", "delete-certificate", "-Z", sha1, keychain)),
        check=("security", "verify-cert", "-c", str(ca_file), "-p", "ssl"),
        spec=("macos", sha1, str(home)),
    )


def plan(system: str, ca_file: Path, home: Path, *, serial: str, sha1: str,
         system_store: bool = True, debian_like: bool | None = None) -> list[Step]:
    """Every step that makes this user's browsers trust `ca_file`; `system` as platform.system()."""
    if system == "Windows":
        return [windows_step(ca_file, serial)]
    if system == "Darwin":
        return [macos_step(ca_file, sha1, home)]
    steps = [nss_step(label, db, ca_file) for label, db in nss_databases(home)]
    if system_store:
        if debian_like is None:
            debian_like = DEBIAN_ANCHOR.parent.is_dir()
        steps.append(linux_system_step(ca_file, debian_like))
    return steps


# -- carrying them out ---------------------------------------------------------------

def shell_line(command: Command, admin: bool = False) -> str:
    """A command as the parent types it (with sudo where it needs root, on Linux and macOS)."""
    line = shlex.join(command)
    return f"sudo {line}" if admin else line


@dataclass
class Runner:
    """Runs steps; `run`, `which` and `is_admin` are seams for tests."""

    dry_run: bool = False
    run: Callable[[Command], subprocess.CompletedProcess] = lambda c: subprocess.run(
        c, capture_output=True, text=True, timeout=60)
    which: Callable[[str], str | None] = shutil.which
    is_admin: bool = field(default_factory=lambda: hasattr(os, "geteuid") and os.geteuid() == 0)

    def apply(self, step: Step, commands: Sequence[Command], before: Sequence[Command] = ()) -> Outcome:
        manual = [shell_line(c, step.needs_admin) for c in commands]
        if self.dry_run:
            return Outcome(step, "dry-run", "", manual)
        missing = sorted({c[0] for c in commands if self.which(c[0]) is None})
        if missing:
            hint = f"; {step.tool_hint}" if step.tool_hint else ""
            return Outcome(step, "manual", f"{', '.join(missing)} not found{hint}", manual)
        if step.needs_admin and not self.is_admin:
            return Outcome(step, "manual", "needs administrator rights", manual)
        for command in before:
            self.run(command)
        for command in commands:
            done = self.run(command)
            if done.returncode != 0:
                why = (done.stderr or done.stdout or "").strip().splitlines()
                return Outcome(step, "failed", why[-1] if why else f"exit code {done.returncode}",
                               manual)
        return Outcome(step, "done", "", [shlex.join(c) for c in commands])

    def install(self, step: Step) -> Outcome:
        return self.apply(step, step.install, step.before)

    def remove(self, step: Step) -> Outcome:
        return self.apply(step, step.remove)

    def is_trusted(self, step: Step) -> bool | None:
        """Whether the CA is trusted there; None when it cannot be checked."""
        if step.check is None or self.which(step.check[0]) is None:
            return None
        return self.run(step.check).returncode == 0


# -- what was installed ------------------------------------------------------------------

def from_spec(spec: Sequence[str], ca_file: Path) -> Step | None:
    """The step a recorded spec stands for, or None for a record this version does not know."""
    match list(spec):
        case ["nss", label, db]:
            return nss_step(label, Path(db), ca_file)
        case ["system", variant] if variant in ("debian", "p11-kit"):
            return linux_system_step(ca_file, debian_like=variant == "debian")
        case ["windows", serial]:
            return windows_step(ca_file, serial)
        case ["macos", sha1, home]:
            return macos_step(ca_file, sha1, Path(home))
    return None


def record(data_dir: Path, outcomes: Sequence[Outcome]) -> None:
    """Keep the steps that were done or left to the parent, for `sentinelle uninstall`."""
    specs = {tuple(s): None for s in _specs(data_dir)}
    for o in outcomes:
        if o.status in ("done", "manual") and o.step.spec:
            specs[o.step.spec] = None
    _write_specs(data_dir, list(specs))


def recorded(data_dir: Path, ca_file: Path) -> list[Step]:
    """The recorded steps, rebuilt for the CA certificate `ca_file`."""
    steps = (from_spec(spec, ca_file) for spec in _specs(data_dir))
    return [s for s in steps if s is not None]


def forget(data_dir: Path, steps: Sequence[Step]) -> None:
    """Drop steps from the record once they are undone."""
    gone = {s.spec for s in steps}
    _write_specs(data_dir, [s for s in map(tuple, _specs(data_dir)) if s not in gone])


def _specs(data_dir: Path) -> list[list[str]]:
    try:
        raw = json.loads((data_dir / RECORD_FILE).read_text())
    except FileNotFoundError:
        return []
    return [s for s in raw if isinstance(s, list) and all(isinstance(x, str) for x in s)]


def _write_specs(data_dir: Path, specs: list[tuple[str, ...]]) -> None:
    path = data_dir / RECORD_FILE
    if not specs:
        path.unlink(missing_ok=True)
        return
    write_atomically(path, json.dumps([list(s) for s in specs], indent=2) + "\n")
