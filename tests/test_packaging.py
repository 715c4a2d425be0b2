"""The built wheel carries the templates, and the installed package finds them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("mailbot-*.whl")
    return built


@pytest.mark.slow
def test_wheel_contains_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (ROOT / "templates").rglob("*.txt"):
        assert f"mailbot/templates/{template.relative_to(ROOT / 'templates')}" in names


@pytest.mark.slow
def test_installed_package_renders_from_its_own_templates(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import mailbot.render as r; "
        f"assert str(r.PACKAGE_TEMPLATES).startswith({str(site)!r}), r.PACKAGE_TEMPLATES; "
        "print(r.Renderer().render_section('notice/help', {'bot': {'name': 'B', "
        "'address': 'b@example.org', 'contact': ''}, 'member': {'state': 'none'}}).subject)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "B: how it works"


@pytest.mark.slow
def test_the_wheel_ships_no_test_servers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [n for n in names if "dovecot" in n or "testing_smtp" in n or n.startswith("tests")]
    assert "mailbot/testing.py" in names  # the in-memory doubles stay beside their Protocols
