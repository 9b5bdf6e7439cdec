"""Sentinelle's version, as installed: the health route, `doctor` and the case file say it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def sentinelle_version() -> str:
    try:
        return version("sentinelle")
    except PackageNotFoundError:
        return "unknown"
