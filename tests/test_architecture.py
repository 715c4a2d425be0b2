"""Imports point inwards: mailbot.core is pure and imports nothing of ours outside it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "mailbot" / "core"
FORBIDDEN = {
    "imapclient",
    "smtplib",
    "socket",
    "sqlite3",
    "sqlite_utils",
    "random",
    "secrets",
    "os",
    "subprocess",
    "aiosmtpd",
    "time",
    "logging",
    "jinja2",
}


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_modules_do_no_io(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "mailbot":
                assert name.startswith("mailbot.core"), f"{path.name} imports {name}"


PACKAGE = CORE.parent


def _defines(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}


def test_each_concept_has_one_home():
    """Where a reply ends is read in one place, commands are decided in one place, the test
    servers live with the tests: no second copy creeps back into the package."""
    homes = {"command_lines": "core/reader.py", "decide": "core/commands.py",
             "needs_owner": "core/commands.py", "new_text": "core/reader.py",
             "queue_email": "mailer.py", "build_app": "app.py"}  # fmt: skip
    found: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for name in _defines(path) & set(homes):
            found.setdefault(name, []).append(str(path.relative_to(PACKAGE)))
    assert found == {name: [home] for name, home in homes.items()}
    assert not list(PACKAGE.glob("testing_*.py"))  # test servers: tests/servers/
