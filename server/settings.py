"""Sentinelle's settings: each declared once, with its default and what it is for.

The commands' options are made from these declarations (`setting_option` in server/cli/options.py),
the composition root (server/run/root.py) reads them, and nothing else writes a port down.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _setting(default: Any, help: str, *, flag: str = "") -> Any:
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class Settings:
    """What one Sentinelle process is told, whatever front it runs."""

    data_dir: Path
    proxy_port: int = _setting(8080, "Where the browser's proxy points (127.0.0.1:PORT).")
    api_port: int = _setting(8765, "Where the extension connects (127.0.0.1:PORT).")
    icap_host: str = _setting("127.0.0.1", "The address the ICAP service listens on (Squid on "
                                           "another machine: its address on a private network).",
                              flag="--host")
    icap_port: int = _setting(1344, "Where Squid's icap_service points (ICAP's registered port, RFC 3507).",
                              flag="--port")
    workers: int | None = _setting(None, "Checking processes [default: all cores but one].")
    extra_hosts: tuple[str, ...] = _setting((), "A domain to watch besides the built-in social "
                                                "networks, subdomains included (repeatable).",
                                        flag="--extra-host")
    extension_origins: tuple[str, ...] = _setting((), "Another build of the extension allowed to use "
                                                      "the API, e.g. chrome-extension://<id> of a store "
                                                      "build (repeatable).",
                                              flag="--extension-origin")


def default(name: str) -> Any:
    """A setting's default value."""
    return _field(name).default


def help_of(name: str) -> str:
    return _field(name).metadata["help"]


def flag_of(name: str) -> str:
    """The command-line flag of a setting: `--api-port` for `api_port`, unless declared otherwise."""
    return _field(name).metadata["flag"] or "--" + name.replace("_", "-")


def _field(name: str):
    found = {f.name: f for f in fields(Settings)}
    if name not in found or name == "data_dir":
        raise KeyError(f"no setting {name!r}")
    return found[name]


PROXY_PORT = default("proxy_port")
API_PORT = default("api_port")
ICAP_PORT = default("icap_port")
