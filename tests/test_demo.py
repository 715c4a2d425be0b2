"""`mailbot demo` runs the product on its embedded default, end to end, with real SMTP."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import main
from mailbot.embedded import free_port
from mailbot.testing import make_mail


def test_demo_scenario_shows_each_step(tmp_path):
    result = CliRunner().invoke(
        main,
        ["demo", "--dir", str(tmp_path / "d"), "--port", "0", "--no-serve"],
        catch_exceptions=False,
    )
    out = result.output
    assert result.exit_code == 0, out
    for expected in [
        "anne@example.org received [confirm]",
        "anne@example.org received [welcome]",
        "bob@example.net received [welcome]",
        "chloe@example.com received [welcome]",
        "bob@example.net received [notice] UnMentoring: paused",
        "chloe@example.com received [notice] UnMentoring: you've left",
        "dan@example.org received [notice] UnMentoring: I didn't understand that",
    ]:
        assert expected in out
    assert out.count("anne@example.org received [notice]") == 1  # no answer to out-of-office
    assert "anne@example.org received [intro] UnMentoring: meet" in out
    assert "femi@example.gov received [intro]" in out and "erin@example.edu received [intro]" in out
    assert "bob@example.net received [intro]" not in out  # paused
    assert "erin@example.edu received [followup]" in out
    assert "organiser@example.org received [digest-preview]" in out
    assert (
        "femi@example.gov received [digest]" in out and "anne@example.org received [digest]" in out
    )
    assert "chloe@example.com received [digest]" not in out  # left
    table = out.split("Members now")[1]
    assert "anne@example.org" in table and "paused" in table and "left" in table


def test_demo_refuses_to_wipe_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--no-serve", "--port", "0"])
    assert result.exit_code == 1 and "not a demo folder" in result.output
    assert (tmp_path / "precious.txt").exists()


@pytest.mark.slow
def test_demo_keeps_serving_mail_from_any_client_until_interrupted(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailbot",
            "demo",
            "--dir",
            str(tmp_path / "d"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        inbox = tmp_path / "d" / "mail" / "erin@example.org" / "new"
        deadline = time.monotonic() + 60
        sent = False
        while time.monotonic() < deadline:
            if not sent and (tmp_path / "d" / "mailbot.db.lock").exists():
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    smtp.send_message(
                        make_mail("erin@example.org", "join"), to_addrs=["unmentoring@example.org"]
                    )
                sent = True
            if inbox.exists() and any(inbox.iterdir()):
                break
            time.sleep(0.3)
        assert inbox.exists() and any(inbox.iterdir()), "the demo never answered"
    finally:
        proc.send_signal(2)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"swaks --server 127.0.0.1:{port}" in out
    assert Path(tmp_path / "d" / "mailbot.db").exists()
