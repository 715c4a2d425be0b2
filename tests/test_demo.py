"""`mailbot demo` runs the product on its embedded default, end to end, with real SMTP."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import main
from mailbot.daemon import InstanceLock
from mailbot.demo import admin_command
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


def _demo(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["demo", "--port", "0", "--no-serve", *args])
    return result.exit_code, result.output


def test_a_second_demo_keeps_the_first_ones_data_unless_fresh(tmp_path):
    folder = str(tmp_path / "d")
    assert _demo("--dir", folder)[0] == 0
    before = sorted(p.name for p in (tmp_path / "d" / "mail").iterdir())
    code, out = _demo("--dir", folder)
    assert code == 1
    assert "holds the last demo (5 members in mailbot.db, 24 emails under mail/)" in out
    assert "--fresh` deletes it" in out and f"--config {folder}/mailbot.toml run" in out
    assert sorted(p.name for p in (tmp_path / "d" / "mail").iterdir()) == before
    code, out = _demo("--dir", folder, "--fresh")
    assert code == 0 and "Members now" in out


def test_a_running_demo_holds_its_folder(tmp_path):
    folder = tmp_path / "d"
    assert _demo("--dir", str(folder))[0] == 0
    with InstanceLock(folder / "mailbot.db"):  # as the running demo holds it
        code, out = _demo("--dir", str(folder), "--fresh")
    assert code == 1 and f"a demo (or `mailbot run`) is already running in {folder}" in out
    assert (folder / "mailbot.db").exists() and any((folder / "mail").iterdir())


def test_a_busy_port_deletes_nothing_and_suggests_another_port(tmp_path):
    folder = tmp_path / "d"
    assert _demo("--dir", str(folder))[0] == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(main, ["demo", "--dir", str(folder), "--port", port,
                                           "--fresh", "--no-serve"])  # fmt: skip
    assert result.exit_code == 1 and "try --port 2525" in result.output
    assert "smtp_port" not in result.output
    assert (folder / "mailbot.db").exists()


def test_each_reply_is_narrated_under_the_step_that_caused_it(tmp_path):
    code, out = _demo("--dir", str(tmp_path / "d"))
    assert code == 0
    steps = {chunk.split("\n")[0]: chunk for chunk in out.split("\n== ")[1:]}
    [status] = [s for title, s in steps.items() if title.startswith("Bob pauses")]
    assert "anne@example.org received [notice] UnMentoring: your status" in status
    [robot] = [s for title, s in steps.items() if title.startswith("An out-of-office")]
    assert "received" not in robot and "(no mail sent)" in robot
    [anne] = [s for title, s in steps.items() if title.startswith("Anne confirms")]
    assert "anne@example.org received [welcome]" in anne and "bob@" not in anne


def test_the_admin_command_line_is_the_one_to_type(tmp_path, monkeypatch):
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "mailbot").write_text("#!/bin/sh\n")
    (venv / "mailbot").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(venv / "mailbot"), "demo"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert admin_command(tmp_path / "mailbot-demo") == (
        ".venv/bin/mailbot --config mailbot-demo/mailbot.toml"
    )
    monkeypatch.setenv("PATH", str(venv))
    assert admin_command(tmp_path / "mailbot-demo") == "mailbot --config mailbot-demo/mailbot.toml"


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
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        inbox = tmp_path / "d" / "mail" / "erin@example.org" / "new"
        deadline = time.monotonic() + 60
        sent = False
        while time.monotonic() < deadline:
            if not sent and any(line.startswith("Now serving") for line in lines):
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
        proc.wait(timeout=30)
        reader.join(timeout=10)
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert f"swaks --server 127.0.0.1:{port}" in out
    assert f"-m mailbot --config {tmp_path / 'd' / 'mailbot.toml'} members" in out
    assert Path(tmp_path / "d" / "mailbot.db").exists()
