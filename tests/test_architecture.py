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
