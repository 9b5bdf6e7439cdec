"""Command-line options made from the settings' declarations (server/settings.py): one default
and one help text a setting, whichever command takes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from sentinelle.server import settings


def setting_option(name: str, **overrides) -> Callable:
    """The click option of a setting: its flag, default and help as server/settings.py declares them."""
    default = settings.default(name)
    repeatable = isinstance(default, tuple)
    options: dict[str, Any] = {"help": settings.help_of(name)}
    if repeatable:
        options |= {"multiple": True}
    elif default is not None:
        options |= {"default": default, "show_default": True}
    return click.option(settings.flag_of(name), name, **(options | overrides))
