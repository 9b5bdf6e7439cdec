"""Test only: temporary HOMEs laid out as the browsers leave them, and what their NSS databases hold."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sentinelle.server.setup.trust import NICKNAME

needs_certutil = pytest.mark.skipif(shutil.which("certutil") is None, reason="needs libnss3-tools")

FIREFOX = Path(".config") / "mozilla" / "firefox"  # where Firefox 147+ makes its profiles on a new home
FIREFOX_PROFILES = ("k3x9.default-esr", "a1b2.default")
CHROMIUM_DB = Path(".local") / "share" / "pki" / "nssdb"  # where Chromium 146+ reads, when ~/.pki is not there


def home_env(home: Path) -> dict[str, str]:
    """This process's environment with `home` as HOME and none of the XDG folders of the real one."""
    return {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {"HOME": str(home)}


def make_home(home: Path) -> list[Path]:
    """A home where Chromium and Firefox ESR each started once, as Debian's leave it: Chromium's
    profile but no NSS database yet; Firefox's profiles.ini, the profile Firefox ESR uses with its
    database (made here with certutil, as Firefox makes it) and the one it made for other builds,
    never opened. Returns the database folders setup must trust."""
    (home / ".config" / "chromium").mkdir(parents=True)
    profiles = home / FIREFOX
    used, spare = (profiles / p for p in FIREFOX_PROFILES)
    for profile in (used, spare):
        profile.mkdir(parents=True)
        (profile / "times.json").write_text('{"created": 1765000000000, "firstUse": null}\n')
    subprocess.run(["certutil", "-N", "-d", f"sql:{used}", "--empty-password"], check=True)
    (profiles / "profiles.ini").write_text(
        f"[Profile1]\nName=default\nIsRelative=1\nPath={spare.name}\nDefault=1\n\n"
        f"[Profile0]\nName=default-esr\nIsRelative=1\nPath={used.name}\n\n"
        "[General]\nStartWithLastProfile=1\nVersion=2\n")
    return [home / CHROMIUM_DB, used, spare]


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
