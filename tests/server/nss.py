"""Test only: a temporary HOME with real, empty NSS databases, as browsers leave them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sentinelle.server.setup.trust import NICKNAME

FIREFOX_PROFILES = ("k3x9.default-release", "a1b2.default")


def make_home(home: Path) -> list[Path]:
    """Chromium's ~/.pki/nssdb and two Firefox profiles; returns the database folders."""
    dbs = [home / ".pki" / "nssdb", *(home / ".mozilla" / "firefox" / p for p in FIREFOX_PROFILES)]
    for db in dbs:
        db.mkdir(parents=True)
        subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    return dbs


def trusted_pem(db: Path) -> str | None:
    """The PEM of Sentinelle's CA in this database, or None when it is not there."""
    done = subprocess.run(["certutil", "-L", "-d", f"sql:{db}", "-n", NICKNAME, "-a"],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def trust_flags(db: Path) -> str:
    out = subprocess.run(["certutil", "-L", "-d", f"sql:{db}"], capture_output=True, text=True,
                         check=True).stdout
    lines = [line for line in out.splitlines() if line.startswith(NICKNAME)]
    return lines[0][len(NICKNAME):].strip() if len(lines) == 1 else f"{len(lines)} entries"
