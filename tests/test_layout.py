"""The house's rules, read from the source: one package, imports that point one way.

`proxy` never imports `server`; within `server`, the concerns form no circle (a module may
import another concern's module only where the arrow below allows it); every Python
package under proxy/ and server/ is listed in pyproject.toml, so the wheel carries it.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Which of server's concerns each may import (besides itself and server's top-level
# modules: config, contact, settings, version, watch_counts, extension_files, words). The arrows point
# one way: cli → run → api → notify → casefile → alerts → store; setup stands beside them.
MAY_IMPORT = {
    "store": set(),
    "alerts": {"store"},
    "casefile": {"alerts", "store"},
    "notify": {"alerts", "casefile", "store"},
    "api": {"alerts", "casefile", "notify", "store"},
    "setup": set(),
    "run": {"alerts", "api", "notify", "setup", "store"},
    "cli": {"alerts", "api", "casefile", "notify", "run", "setup", "store"},
}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_every_import_names_the_one_package():
    for folder in ("proxy", "server", "tests", "benchmarks"):
        for path in modules(folder):
            stray = {m for m in imports_of(path) if m.split(".")[0] in ("proxy", "server")}
            assert not stray, f"{path.relative_to(ROOT)} imports {stray}: write sentinelle.{next(iter(stray))}"


def test_the_watcher_never_imports_the_server():
    for path in modules("proxy"):
        assert not {m for m in imports_of(path) if m.startswith("sentinelle.server")}, path


def test_the_server_concerns_import_one_way():
    for concern, allowed in MAY_IMPORT.items():
        for path in modules(f"server/{concern}"):
            for module in imports_of(path):
                parts = module.split(".")
                if parts[:2] != ["sentinelle", "server"] or len(parts) < 4:
                    continue
                other = parts[2]
                assert other == concern or other in allowed or not (ROOT / "server" / other).is_dir(), (
                    f"{path.relative_to(ROOT)} imports {module}: {concern} may not import {other}")


def test_every_package_is_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    for folder in ("proxy", "server"):
        for init in (ROOT / folder).rglob("__init__.py"):
            dotted = ".".join(("sentinelle", *init.parent.relative_to(ROOT).parts))
            assert dotted in listed, f"{dotted} is not listed in pyproject.toml: the wheel would lack it"
    assert config["package-dir"]["sentinelle.extension"] == "extension"


SQL = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "PRAGMA ", "ALTER ", "DROP ")


def test_only_the_store_speaks_sql():
    for folder in ("proxy", "server"):
        for path in modules(folder):
            if path.is_relative_to(ROOT / "server" / "store"):
                continue
            assert not {m for m in imports_of(path) if m.split(".")[0] in ("sqlite_utils",)}, path
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    assert not node.value.lstrip().startswith(SQL), (
                        f"{path.relative_to(ROOT)} holds SQL ({node.value[:40]!r}): it belongs in server/store/")


def test_nobody_but_the_store_opens_its_door():
    """The door has no public connection or store: callers hand it functions of the store."""
    from sentinelle.server.store.door import StoreDoor

    assert not [name for name in vars(StoreDoor) if name in ("store", "db", "connection")]
    assert not [name for name in StoreDoor.__init__.__code__.co_names if name in ("store", "db")]
