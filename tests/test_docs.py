"""The docs say what the code does: every route, command and option is documented, every link
and every path they name leads somewhere, and nothing points outside the project.

docs/api.md has a heading for each route `create_app` registers (and none for a route it does
not); docs/parents.md's "Every command" table has a row for each command, naming each of its
options. A relative link in any of the project's Markdown files must reach a file (and the
heading it names); a path in backquotes whose first folder is the project's must exist; a path
in a comment or docstring of the code likewise.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Folders that hold no project text: tools, builds, caches.
NOT_OURS = {".git", ".venv", "node_modules", "build", ".pytest_cache", "__pycache__", "artifacts"}


def project_files(*suffixes: str) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_OURS and not d.endswith(".egg-info")]
        found += [Path(folder) / f for f in files if f.endswith(suffixes)]
    return sorted(found)


MARKDOWN = project_files(".md")
CODE = project_files(".py", ".sh", ".toml", ".js") + [ROOT / ".ci" / "run"]


def prose(markdown: str) -> str:
    """The text of a Markdown file without its fenced code blocks (a console session is not a link)."""
    return re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(markdown), re.M):
        base = anchor = slug(heading)
        n = 0
        while anchor in found:  # a repeated heading gets -1, -2…
            n += 1
            anchor = f"{base}-{n}"
        found.add(anchor)
    return found


def section(markdown: str, heading: str) -> str:
    """The text under `## heading`, up to the next heading of its level or above."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^#{{1,2}} |\Z)", markdown, re.M | re.S)
    assert match, f"no section '## {heading}'"
    return match.group(1)


# -- the API --------------------------------------------------------------------------

def registered_routes(tmp_path: Path) -> set[str]:
    from sentinelle.server.alerts.events import Events
    from sentinelle.server.api.app import create_app
    from sentinelle.server.store.door import StoreDoor

    door = StoreDoor(tmp_path)
    try:
        app = create_app(door, Events(), "token")
        return {f"{route.method} {route.resource.canonical}" for route in app.router.routes()
                if route.method != "HEAD"}  # aiohttp adds a HEAD to each GET
    finally:
        door.close()


def test_every_route_of_the_api_is_in_docs_api_md_and_no_other(tmp_path):
    documented = set(re.findall(r"^#{2,4} `((?:GET|POST|PUT|PATCH|DELETE) \S+)`", (DOCS / "api.md").read_text(), re.M))
    routes = registered_routes(tmp_path)
    assert routes, "create_app registered no route"
    assert not routes - documented, f"routes missing from docs/api.md: {sorted(routes - documented)}"
    assert not documented - routes, f"docs/api.md documents routes the app does not have: {sorted(documented - routes)}"


# -- the commands ---------------------------------------------------------------------

def commands() -> dict[str, click.Command]:
    """Every command, by what a parent types (`sentinelle`, `sentinelle child set`…)."""
    from sentinelle.server.cli.main import cli

    found = {}

    def walk(command: click.Command, path: str) -> None:
        found[path] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(cli, "sentinelle")
    return found


def command_rows() -> dict[str, str]:
    table = section((DOCS / "parents.md").read_text(), "Every command")
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `(sentinelle[^`]*)` \|.*$", table, re.M)}


def test_every_command_has_a_row_in_docs_parents_md_naming_each_of_its_options():
    rows = command_rows()
    for path, command in commands().items():
        assert path in rows, f"`{path}` has no row in docs/parents.md's 'Every command'"
        for param in command.params:
            if isinstance(param, click.Option):
                flag = max(param.opts, key=len)
                assert re.search(rf"`{re.escape(flag)}\b", rows[path]), f"`{path}`: {flag} is not in its row"
    assert not set(rows) - set(commands()), f"rows for commands that do not exist: {set(rows) - set(commands())}"


# -- links and paths ------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", prose(path.read_text()))  # a link in backquotes is code
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_its_heading(path):
    for target in relative_links(path):
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.exists(), f"{target}: no such file"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked.read_text()), f"{target}: no such heading in {linked.name}"


def named_paths(text: str) -> list[str]:
    """Paths a text names in backquotes: `server/run/root.py`, `tests/fixtures/feeds/`."""
    return re.findall(r"`([\w.-]+(?:/[\w.-]+)+/?)`", text)


def resolves(path: str, near: Path) -> bool | None:
    """Whether `path` exists beside `near` or at the root; None when its first folder is
    neither's (a path on the parent's machine, in a build, in another project)."""
    first = path.split("/")[0]
    if first.startswith(".") and first != ".ci":
        return None
    bases = [base for base in (near, ROOT) if (base / first).exists()]
    return any((base / path).exists() for base in bases) if bases else None


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_in_backquotes_exists(path):
    missing = [p for p in named_paths(prose(path.read_text())) if resolves(p, path.parent) is False]
    assert not missing, f"{path.relative_to(ROOT)} names paths that do not exist: {missing}"


# A path the code names in a comment or a docstring: one of the project's folders, then a file.
CODE_PATH = re.compile(r"(?<![\w/.-])((?:proxy|server|tests|benchmarks|extension|scripts|docs)/[\w./-]*\.(?:py|md|sh|js|json|html))\b")


def test_every_path_the_code_names_exists():
    missing = []
    for path in CODE:
        for line_number, line in enumerate(path.read_text().splitlines(), 1):
            missing += [f"{path.relative_to(ROOT)}:{line_number}: {p}" for p in CODE_PATH.findall(line)
                        if resolves(p, path.parent) is False]
    assert not missing, "\n".join(missing)


def test_nothing_points_outside_the_project_but_the_datasets():
    outside = re.compile(r"\.\./shared/(?!datasets)")
    stray = [f"{p.relative_to(ROOT)}: {m.group(0)}…" for p in MARKDOWN + CODE for m in outside.finditer(p.read_text())]
    assert not stray, stray


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    for doc in ("parents.md", "network.md", "api.md", "architecture.md", "feed-shapes.md", "benchmarks.md"):
        assert f"(docs/{doc}" in readme, f"the README does not lead to docs/{doc}"
