"""Chaos (issue #10): the daemon killed with SIGKILL at random moments, many times, under a
mixed load over real Dovecot and aiosmtpd; then nothing lost, nothing doubled beyond the one
message in flight at each kill, and the database intact.

The moments are seeded, so CI repeats the same run. The checks use only what the servers
recorded (the SMTP sink's messages, Dovecot's folders) and the database.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from mailbot.testing import make_mail
from tests.imap_helpers import append, folder_count, write_config

pytestmark = [pytest.mark.imap, pytest.mark.slow]

SEED = 20261203
KILLS = 25
PEOPLE = 60


def load() -> list:
    """People joining, asking for status and help, and robots: every human gets one reply."""
    mail = []
    for n in range(PEOPLE):
        sender = f"Person {n} <p{n}@example.org>"
        subject = ("join", "status", "help")[n % 3]
        mail.append(make_mail(sender, subject))
    mail.append(make_mail("Away <away@example.net>", "Automatic reply: back Monday",
                          headers={"Auto-Submitted": "auto-replied"}))  # fmt: skip
    return mail


def test_random_kills_lose_nothing_and_double_at_most_one_message_each(
    tmp_path, dovecot, smtp_sink
):
    config = write_config(tmp_path, dovecot, smtp_sink, batch_size="5")
    with config.open("a") as f:
        f.write("\n[daemon]\npoll_interval = 0.2\n")
    env = {**os.environ, "TEST_IMAP_PASSWORD": dovecot.password}
    base = [sys.executable, "-m", "mailbot", "--config", str(config)]
    subprocess.run([*base, "init"], env=env, check=True, capture_output=True, timeout=60)
    mail = load()
    append(dovecot, *mail[: len(mail) // 2])
    rng = random.Random(SEED)
    kills = 0
    for round_ in range(KILLS):
        if round_ == KILLS // 2:
            append(dovecot, *mail[len(mail) // 2 :])  # more mail arrives meanwhile
        daemon = subprocess.Popen([*base, "run"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(0.2, 1.2))
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGKILL)
            kills += 1
        daemon.wait(timeout=30)
    for _ in range(3):  # then a clean finish: what was left is done now
        subprocess.run([*base, "run", "--once"], env=env, check=True, capture_output=True,
                       timeout=120)  # fmt: skip

    humans = PEOPLE
    assert folder_count(dovecot, "INBOX") == 0
    assert folder_count(dovecot, "Processed") == len(mail)  # nothing lost, nothing set aside
    db = sqlite3.connect(tmp_path / "mailbot.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("select count(*) from inbound").fetchone()[0] == len(mail)
    assert db.execute("select count(*) from outbox where status != 'sent'").fetchone()[0] == 0
    ids = Counter(str(m["Message-ID"]) for m in smtp_sink.messages)
    doubled = sum(n - 1 for n in ids.values())
    replied = {str(m["To"]).rpartition("<")[2].rstrip(">") for m in smtp_sink.messages}
    assert replied == {f"p{n}@example.org" for n in range(PEOPLE)}  # each human answered
    assert len(ids) == humans  # one reply each, never two different ones for one message
    assert doubled <= kills, f"{doubled} doubles in {kills} kills"
    print(f"chaos: {kills} kills, {len(smtp_sink.messages)} sent, {doubled} doubled")
