"""Where this user's browsers keep the certificates they trust, on Linux: found, never changed.

Each browser reads a user's own roots from an NSS database (a folder holding `cert9.db`):
- Chromium and Chrome (M146 and later) read `~/.pki/nssdb` when it exists, otherwise
  `$XDG_DATA_HOME/pki/nssdb` (`~/.local/share/pki/nssdb` when unset), the order NSS's
  own `nsssysinit` uses. They make that database only when a page first needs it, so
  setup may make it there, as the browser would (`certutil -N --empty-password`).
  A snap reads the same paths under `~/snap/chromium/current`; a flatpak under its own
  `~/.var/app/ID/data` (its `XDG_DATA_HOME`).
- Firefox keeps one database per profile. Its profiles are listed in `profiles.ini` of
  `~/.mozilla/firefox` (when that folder exists) or `$XDG_CONFIG_HOME/mozilla/firefox`
  (Firefox 147 and later on a new home: `~/.config/mozilla/firefox`), and the same under
  the snap's `~/snap/firefox/common` and the flatpak's `~/.var/app/org.mozilla.firefox`.
  Firefox makes a profile's database the first time it opens it; a profile no Firefox has
  opened yet (only `times.json` in it) gets an empty one from setup, which Firefox then
  uses as its own.
"""

from __future__ import annotations

import configparser
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_PROGRAMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                     "google-chrome-beta", "google-chrome-unstable")
FIREFOX_PROGRAMS = ("firefox", "firefox-esr")
CHROMIUM_FLATPAKS = {"org.chromium.Chromium": "Chromium (flatpak)",
                     "com.google.Chrome": "Chrome (flatpak)"}
FIREFOX_FLATPAK = "org.mozilla.firefox"
# What a profile holds once a Firefox has opened it: its database, or an older one it would
# convert at its next start (making cert9.db beside cert8.db would skip that conversion).
OPENED = ("cert9.db", "cert8.db", "key4.db", "key3.db", "prefs.js")

# What the parent does where setup cannot: "what is missing: what to do" (doctor splits them).
OPEN_FIREFOX = "no profile yet: open Firefox once and close it, then run `sentinelle setup` again"
OPEN_PROFILE = ("no certificate database yet: open this profile once in Firefox (about:profiles, "
                "\"Launch profile in new browser\") and close it, then run `sentinelle setup` again")


@dataclass(frozen=True)
class Home:
    """A home folder and its XDG data and config folders (the variables resolved)."""

    path: Path
    data: Path
    config: Path

    @classmethod
    def of(cls, home: Path, env: Mapping[str, str]) -> Home:
        def xdg(name: str, default: Path) -> Path:
            value = env.get(name, "")
            # The XDG spec ignores a relative path, as the browsers do.
            return Path(value) if value.startswith("/") else default
        return cls(home, xdg("XDG_DATA_HOME", home / ".local" / "share"),
                   xdg("XDG_CONFIG_HOME", home / ".config"))


@dataclass(frozen=True)
class Store:
    """One NSS database a browser reads. `make`: missing, and setup may make it where the
    browser will read it; `todo`: missing, and only the parent can have it made ("what is
    missing: what to do")."""

    label: str
    db: Path
    make: bool = False
    todo: str = ""


def installed(home: Home, which: Callable[[str], str | None] = shutil.which,
              root: Path = Path("/")) -> frozenset[str]:
    """The browsers this PC has, by kind: "chromium", "chromium-snap", each Chromium flatpak's
    ID, "firefox" (any build: deb, tarball, snap or flatpak)."""
    def flatpak(app: str) -> bool:
        return any((d / app).is_dir() for d in (root / "var/lib/flatpak/app", home.data / "flatpak/app"))

    kinds = set()
    if any(which(p) for p in CHROMIUM_PROGRAMS):
        kinds.add("chromium")
    if (root / "snap/chromium").is_dir():
        kinds.add("chromium-snap")
    kinds.update(app for app in CHROMIUM_FLATPAKS if flatpak(app))
    if (any(which(p) for p in FIREFOX_PROGRAMS) or (root / "snap/firefox").is_dir()
            or flatpak(FIREFOX_FLATPAK)):
        kinds.add("firefox")
    return frozenset(kinds)


def stores(home: Home, browsers: frozenset[str]) -> list[Store]:
    """Every NSS database of `home`'s browsers, made or to be made, Chromium's first."""
    return [*chromium_stores(home, browsers), *firefox_stores(home, browsers)]


def chromium_stores(home: Home, browsers: frozenset[str]) -> list[Store]:
    found = list(_chromium(home.path, home.data, "Chromium/Chrome",
                           "chromium" in browsers
                           or any((home.config / d).is_dir() for d in ("chromium", "google-chrome"))))
    snap = home.path / "snap" / "chromium" / "current"
    if snap.is_dir():  # made by the snap's first start; setup never makes it (a symlink of snapd)
        found += _chromium(snap, snap / ".local" / "share", "Chromium (snap)", True)
    elif "chromium-snap" in browsers:
        found.append(Store("Chromium (snap)", snap / ".local" / "share" / "pki" / "nssdb",
                           todo="not started yet: open Chromium once and close it, then run "
                                "`sentinelle setup` again"))
    for app, label in CHROMIUM_FLATPAKS.items():
        sandbox = home.path / ".var" / "app" / app
        # A flatpak sees ~/.pki only when allowed the home folder: its own data is what it reads.
        found += _chromium(sandbox, sandbox / "data", label, app in browsers or sandbox.is_dir())
    return found


def _chromium(home: Path, data: Path, label: str, present: bool) -> Iterator[Store]:
    """The database this Chromium reads (made when missing, if this Chromium is there), and
    the other one when it exists too (read again once the first is gone)."""
    legacy, current = home / ".pki" / "nssdb", data / "pki" / "nssdb"
    read = legacy if (legacy / "cert9.db").is_file() else current
    there = (read / "cert9.db").is_file()
    if present or there:
        yield Store(label, read, make=not there)
    if read == legacy and (current / "cert9.db").is_file():
        yield Store(label, current)


def firefox_roots(home: Home) -> list[Path]:
    """The folders that may hold a Firefox profiles.ini: deb or tarball, snap, flatpak."""
    snap = home.path / "snap" / "firefox" / "common"
    flatpak = home.path / ".var" / "app" / FIREFOX_FLATPAK
    return [home.path / ".mozilla" / "firefox", home.config / "mozilla" / "firefox",
            snap / ".mozilla" / "firefox", snap / ".config" / "mozilla" / "firefox",
            flatpak / ".mozilla" / "firefox", flatpak / "config" / "mozilla" / "firefox"]


def firefox_stores(home: Home, browsers: frozenset[str]) -> list[Store]:
    found: list[Store] = []
    seen: set[Path] = set()
    for root in firefox_roots(home):
        for profile in firefox_profiles(root):
            if profile.resolve() in seen:
                continue
            seen.add(profile.resolve())
            label = f"Firefox profile {profile.name}"
            if (profile / "cert9.db").is_file():
                found.append(Store(label, profile))
            elif not any((profile / name).exists() for name in OPENED):
                found.append(Store(label, profile, make=True))
            else:
                found.append(Store(label, profile, todo=OPEN_PROFILE))
    if not found and "firefox" in browsers:
        # Firefox makes its first profile at its first start: nothing to trust before that.
        found.append(Store("Firefox", home.config / "mozilla" / "firefox", todo=OPEN_FIREFOX))
    return found


def firefox_profiles(root: Path) -> list[Path]:
    """The profile folders `root/profiles.ini` lists (Path=, IsRelative=) that exist, then any
    other folder of `root` holding a certificate database."""
    listed: list[Path] = []
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        ini.read(root / "profiles.ini", encoding="utf-8")
    except configparser.Error:
        pass  # a damaged profiles.ini: the folders' own databases still count
    for name in ini.sections():
        section = ini[name]
        if not name.startswith("Profile") or not section.get("Path"):
            continue
        path = Path(section["Path"])
        if section.get("IsRelative", "1") == "1":
            path = root / path
        if path.is_dir() and path not in listed:
            listed.append(path)
    others = sorted(db.parent for db in root.glob("*/cert9.db")) if root.is_dir() else []
    return listed + [p for p in others if p not in listed]
