"""Making the browsers trust Sentinelle's CA, and undoing exactly that.

`plan()` is pure: from the system, the home folder and the NSS databases found there
(server/setup/browsers.py), it lists the steps, each with the command lines that install the
CA and those that remove it. `Runner` carries them out, or, where it cannot (no
administrator rights, a tool missing, `--dry-run`), says the exact command for the parent to
type. What was installed is recorded in the data dir (`trust.json`) so that `sentinelle
uninstall` removes that and nothing else. The record holds what each step was (`spec`),
never command lines: uninstall rebuilds the commands with the functions below, so an edited
record cannot run anything else.

Where each browser takes a user's own root from, and why this one:
- Linux: the user's NSS databases, with `certutil` (libnss3-tools): Chromium and Chrome
  read one shared database, Firefox one per profile (where: browsers.py). It is the only
  place both take a root from without administrator rights: Chrome's `CACertificates`
  policy and Firefox's `policies.json` (`Certificates.Install`) are files under /etc or
  the install folder, and Firefox's `security.enterprise_roots.enabled` reads the OS store
  on Windows and macOS only. A database the browser has not made yet is made where it will
  read it, as it would make it (`certutil -N --empty-password`); uninstall removes the CA
  from it and leaves the database, which the browser may keep its own certificates in by
  then. The system store (update-ca-certificates, needs root) is for other programs.
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
from sentinelle.server.setup.browsers import Store

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
    makes_db: bool = False  # install makes the database first (the browser has not yet)
    todo: str = ""  # nothing to run: what the parent must do first


@dataclass
class Outcome:
    step: Step
    status: str  # "done", "dry-run", "manual" (the parent must type it), "failed"
    detail: str = ""
    commands: list[str] = field(default_factory=list)


# -- the steps ------------------------------------------------------------------------

def nss_step(label: str, db: Path, ca_file: Path, make: bool = False) -> Step:
    """Trust the CA in the NSS database `db`; `make`: make the database first."""
    target = f"sql:{db}"
    made = (("mkdir", "-p", "-m", "700", str(db)),
            ("certutil", "-N", "-d", target, "--empty-password")) if make else ()
    return Step(
        where=f"{label} ({db})",
        # Only where a database is: `certutil -D` on a folder without one makes one.
        before=() if make else (("certutil", "-D", "-d", target, "-n", NICKNAME),),
        install=(*made, ("certutil", "-A", "-d", target, "-n", NICKNAME, "-t", "C,,", "-i", str(ca_file))),
        remove=(("certutil", "-D", "-d", target, "-n", NICKNAME),),
        check=("certutil", "-L", "-d", target, "-n", NICKNAME),
        tool_hint="install it: sudo apt install libnss3-tools (Fedora: nss-tools)",
        spec=("nss", label, str(db), *(("made",) if make else ())),
        makes_db=make,
    )


def store_step(store: Store, ca_file: Path) -> Step:
    if store.todo:
        return Step(where=f"{store.label} ({store.db})", install=(), remove=(), todo=store.todo)
    return nss_step(store.label, store.db, ca_file, make=store.make)


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
         stores: Sequence[Store] = (), system_store: bool = True,
         debian_like: bool | None = None) -> list[Step]:
    """Every step that makes this user's browsers trust `ca_file`; `system` as platform.system(),
    `stores` the browsers' NSS databases on Linux (browsers.stores)."""
    if system == "Windows":
        return [windows_step(ca_file, serial)]
    if system == "Darwin":
        return [macos_step(ca_file, sha1, home)]
    steps = [store_step(store, ca_file) for store in stores]
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
        if step.todo:
            return Outcome(step, "manual", step.todo)
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
        case ["nss", label, db, *made] if made in ([], ["made"]):
            return nss_step(label, Path(db), ca_file, make=bool(made))
        case ["system", variant] if variant in ("debian", "p11-kit"):
            return linux_system_step(ca_file, debian_like=variant == "debian")
        case ["windows", serial]:
            return windows_step(ca_file, serial)
        case ["macos", sha1, home]:
            return macos_step(ca_file, sha1, Path(home))
    return None


def record(data_dir: Path, outcomes: Sequence[Outcome]) -> None:
    """Keep the steps that were done or left to the parent, for `sentinelle uninstall`. One
    entry per place: a database setup made stays recorded as made when set up again."""
    specs = {tuple(s[:3]): tuple(s) for s in _specs(data_dir)}
    for o in outcomes:
        if o.status in ("done", "manual") and o.step.spec:
            specs.setdefault(o.step.spec[:3], o.step.spec)
    _write_specs(data_dir, list(specs.values()))


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
