"""End to end over real servers: the CLI against Dovecot (IMAP) and aiosmtpd (SMTP)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.testing import make_mail, make_reply
from tests.imap_helpers import append, folder_count, write_config

pytestmark = [pytest.mark.imap, pytest.mark.slow]

ANNE = "Anne Person <anne@example.org>"


class Cli:
    def __init__(self, config: Path, password: str):
        self.config = config
        self.env = {**os.environ, "TEST_IMAP_PASSWORD": password}

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mailbot", "--config", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def members(self) -> dict[str, str]:
        return {m["email"]: m["state"] for m in json.loads(self("members", "--format", "json"))}


@pytest.fixture
def setup(tmp_path, dovecot, smtp_sink):
    config = write_config(tmp_path, dovecot, smtp_sink)
    cli = Cli(config, dovecot.password)
    cli("init")
    return cli, dovecot, smtp_sink


def exchange(cli: Cli, dovecot, sink, msg: EmailMessage) -> EmailMessage:
    """Deliver one message to the inbox, poll and send; return the one reply."""
    before = len(sink.messages)
    append(dovecot, msg)
    assert "processed 1" in cli("poll")
    assert "sent 1" in cli("send")
    [reply] = sink.messages[before:]
    return reply


def verified(msg: EmailMessage) -> EmailMessage:
    """As the receiving server marks mail it checked: its verdict on top."""
    msg["Authentication-Results"] = "mx.example.org; dmarc=pass header.from=example.org"
    return msg


def text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_membership_lifecycle_by_email(setup):
    cli, dovecot, sink = setup
    confirm = exchange(cli, dovecot, sink, make_mail(ANNE, "join", "org: Example Council"))
    assert confirm["X-Mailbot-Kind"] == "confirm" and confirm["To"] == ANNE
    assert sink.envelopes[-1][1] == ["anne@example.org"]
    assert cli.members() == {"anne@example.org": "pending"}

    welcome = exchange(cli, dovecot, sink, make_reply(confirm, ANNE, "Yes please!"))
    assert welcome["X-Mailbot-Kind"] == "welcome"
    assert cli.members() == {"anne@example.org": "active"}

    status = exchange(cli, dovecot, sink, make_mail(ANNE, "status"))
    assert "active member" in text(status) and "Example Council" in text(status)

    paused = exchange(cli, dovecot, sink,
                      verified(make_mail(ANNE, "Re: x", "pause\n\n-- \nAnne")))  # fmt: skip
    assert "paused" in text(paused)
    assert cli.members() == {"anne@example.org": "paused"}

    exchange(cli, dovecot, sink, verified(make_mail(ANNE, "resume")))
    assert cli.members() == {"anne@example.org": "active"}

    # Unverified (no verdict from the receiving server): the owner is asked first.
    asked = exchange(cli, dovecot, sink, make_mail(ANNE, "leave"))
    assert "Please confirm: leave" in str(asked["Subject"])
    assert cli.members() == {"anne@example.org": "active"}
    left = exchange(cli, dovecot, sink, make_reply(asked, ANNE, "yes"))
    assert "You've left" in text(left)
    assert cli.members() == {"anne@example.org": "left"}

    for msg in sink.messages:
        assert msg["Auto-Submitted"] == "auto-replied"
        assert msg["List-Unsubscribe"] == "<mailto:unmentoring@example.org?subject=leave>"
    assert len({m["Message-ID"] for m in sink.messages}) == len(sink.messages) == 7
    assert folder_count(dovecot, "INBOX") == 0
    assert folder_count(dovecot, "Processed") == 7


def test_robots_and_failures_get_no_reply_and_lose_nothing(setup):
    cli, dovecot, sink = setup
    append(
        dovecot,
        make_mail(ANNE, "Automatic reply: join", headers={"Auto-Submitted": "auto-replied"}),
        b"this is not\x00 an email at all\xff",
        make_mail("bob@example.net", "join"),
    )
    assert "processed 3" in cli("poll")
    cli("send")
    assert [m["To"] for m in sink.messages] == ["bob@example.net"]
    assert folder_count(dovecot, "Processed") == 3


def test_check_logs_in_to_both_servers(setup):
    cli, _, _ = setup
    out = cli("check")
    assert "ok    inbox imap:" in out and "ok    smtp: connected to" in out
    assert "no login (no username set)" in out  # it says exactly what it did (issue #10)


def test_smtp_outage_keeps_the_reply_queued_until_the_server_is_back(setup):
    cli, dovecot, sink = setup
    append(dovecot, make_mail(ANNE, "join"))
    cli("poll")
    sink.stop()
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(cli.config), "send"],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "stays queued" in done.stderr
    sink.start()
    conn = __import__("sqlite3").connect(cli.config.parent / "mailbot.db")
    conn.execute("update outbox set next_attempt_at = ''")  # skip the backoff wait
    conn.commit()
    conn.close()
    assert "sent 1" in cli("send")
    assert len(sink.messages) == 1


KILL_BETWEEN_COMMIT_AND_MOVE = textwrap.dedent("""
    import os, signal, sys
    from mailbot.app import build_app
    from mailbot.config import load_config
    from pathlib import Path

    app = build_app(load_config(Path(sys.argv[1])))
    inbox = app.open_inbox()

    def die(items):  # effects are committed; the move to Processed never happens
        os.kill(os.getpid(), signal.SIGKILL)

    inbox.done = die
    app.service.poll(inbox)
""")


def test_killed_between_commit_and_move_repeats_nothing(setup, tmp_path):
    cli, dovecot, sink = setup
    append(dovecot, make_mail(ANNE, "join"), make_mail("bob@example.net", "help"))
    script = tmp_path / "die.py"
    script.write_text(KILL_BETWEEN_COMMIT_AND_MOVE)
    died = subprocess.run(
        [sys.executable, str(script), str(cli.config)],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == -signal.SIGKILL
    assert folder_count(dovecot, "INBOX") == 2  # not moved
    assert cli.members() == {"anne@example.org": "pending"}  # but committed

    assert "processed 2" in cli("poll")  # restart: recognised, only moved
    assert folder_count(dovecot, "INBOX") == 0
    cli("send")
    cli("poll")
    cli("send")
    assert sorted(m["To"] for m in sink.messages) == [
        "Anne Person <anne@example.org>",
        "bob@example.net",
    ]


def test_daemon_answers_mail_and_stops_cleanly_on_sigterm(setup):
    cli, dovecot, sink = setup
    with cli.config.open("a") as f:
        f.write("\n[daemon]\npoll_interval = 0.2\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(cli.config), "run"],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        append(dovecot, make_mail(ANNE, "join"))
        sink.wait_for(1, timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "SIGTERM received" in out and "stopped" in out
    assert sink.messages[0]["X-Mailbot-Kind"] == "confirm"


def test_people_who_joined_by_email_get_intros_from_a_round(setup):
    cli, dovecot, sink = setup
    people = [
        "Anne Person <anne@example.org>",
        "Bob Smith <bob@example.net>",
        "Chloe Jones <chloe@example.com>",
        "Dan Brown <dan@example.co.uk>",
    ]
    for person in people:
        confirm = exchange(cli, dovecot, sink, make_mail(person, "join", "org: " + person[:3]))
        exchange(cli, dovecot, sink, make_reply(confirm, person, "yes"))
    assert set(cli.members().values()) == {"active"}
    sink.clear()
    groups = json.loads(cli("pair", "--dry-run", "--format", "json"))["groups"]
    assert sorted(len(g) for g in groups) == [2, 2]
    assert "round 1 made 2 group(s)" in cli("pair")
    cli("send")
    assert [m["X-Mailbot-Kind"] for m in sink.messages] == ["intro", "intro"]
    received = sorted(r for _, rcpts, _ in sink.envelopes for r in rcpts)
    assert received == sorted(p.split("<")[1].rstrip(">") for p in people)
    for msg in sink.messages:
        assert msg["Reply-To"] == msg["To"]
    cli("send")
    assert len(sink.messages) == 2  # nothing sent twice


def outlook_reply(original: EmailMessage, sender: str, text: str) -> EmailMessage:
    """Top-posted, the original below an Outlook header block, no '>' quoting."""
    quoted = original.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    msg = make_mail(sender, "RE: " + str(original["Subject"]),
                    f"{text}\n\n________________________________\nFrom: UnMentoring "
                    f"<unmentoring@example.org>\nSent: 09 November 2026 09:00\nTo: {sender}\n"
                    f"Subject: {original['Subject']}\n\n{quoted}",
                    headers={"In-Reply-To": original["Message-ID"],
                             "References": original["Message-ID"]})  # fmt: skip
    return msg


def gmail_html_reply(original: EmailMessage, sender: str, text: str) -> EmailMessage:
    html = (f'<div dir="ltr">{text}</div><br><div class="gmail_quote"><div dir="ltr" '
            f'class="gmail_attr">On Mon, 9 Nov 2026 at 09:00, UnMentoring '
            f'&lt;unmentoring@example.org&gt; wrote:<br></div><blockquote class="gmail_quote">'
            f"How did it go?</blockquote></div>")  # fmt: skip
    return make_mail(sender, "Re: " + str(original["Subject"]), html=html,
                     headers={"In-Reply-To": original["Message-ID"],
                              "References": original["Message-ID"]})  # fmt: skip


def test_round_follow_ups_replies_moderation_and_digest(setup, tmp_path):
    cli, dovecot, sink = setup
    with cli.config.open("a") as f:
        f.write("\n[digest]\nmoderation = true\n")
    text = cli.config.read_text().replace(
        'name = "UnMentoring"',
        'name = "UnMentoring"\nadmins = ["boss@example.org"]'
    )
    cli.config.write_text(text)
    roster = tmp_path / "people.csv"
    roster.write_text("email,name,org\nanne@example.org,Anne Person,Example Council\n"
                      "bob@example.net,Bob Smith,Example Borough\n"
                      "dan@example.co.uk,Dan Brown,Example City\n")  # fmt: skip
    cli("import", str(roster), "--confirmed")
    confirm = exchange(
        cli, dovecot, sink, make_mail("Rita Reader <reader@example.com>", "subscribe digest")
    )
    exchange(cli, dovecot, sink, make_reply(confirm, "Rita Reader <reader@example.com>", "yes"))
    digest_off = make_mail("Dan Brown <dan@example.co.uk>", "digest off")
    digest_off["Authentication-Results"] = "mx.example.org; dmarc=pass header.from=example.co.uk"
    exchange(cli, dovecot, sink, digest_off)
    cli("pair")
    cli("followup")
    sink.clear()
    cli("send")
    questions = {str(m["To"]).split("<")[1].rstrip(">"): m for m in sink.messages
                 if m["X-Mailbot-Kind"] == "followup"}  # fmt: skip
    assert set(questions) == {"anne@example.org", "bob@example.net", "dan@example.co.uk"}
    append(dovecot,
           outlook_reply(questions["anne@example.org"], "Anne Person <anne@example.org>",
                         "We swapped notes on user research panels."),
           gmail_html_reply(questions["bob@example.net"], "Bob Smith <bob@example.net>",
                            "I will copy their open data checklist."))  # fmt: skip
    assert "processed 2" in cli("poll")
    sink.clear()
    cli("send")
    assert {str(m["Subject"]) for m in sink.messages} == {"UnMentoring: thank you"}
    sink.clear()
    assert "admins for approval" in cli("digest")
    cli("send")
    [preview] = sink.messages
    assert preview["X-Mailbot-Kind"] == "digest-preview" and "boss@example.org" in preview["To"]
    sink.clear()
    forged = make_reply(preview, "Boss <boss@example.org>", "approve")
    append(dovecot, forged)  # From alone proves nothing: no digest yet
    cli("poll")
    cli("send")
    assert [m["X-Mailbot-Kind"] for m in sink.messages] == ["notice"]
    sink.clear()
    # Issue #10: the receiving server's genuine fail on top, the sender's own "pass" with the
    # same id below it: only the topmost trusted verdict counts.
    stacked = make_reply(preview, "Boss <boss@example.org>", "approve")
    stacked["Authentication-Results"] = "mx.example.org; dmarc=fail header.from=example.org"
    stacked["Authentication-Results"] = "mx.example.org; dmarc=pass header.from=example.org"
    append(dovecot, stacked)
    cli("poll")
    cli("send")
    assert not [m for m in sink.messages if m["X-Mailbot-Kind"] == "digest"]
    sink.clear()
    approval = make_reply(preview, "Boss <boss@example.org>", "approve")
    # what the receiving MX adds above the message after checking DKIM, SPF and DMARC
    approval["Authentication-Results"] = (
        "mx.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"
    )
    append(dovecot, approval)
    cli("poll")
    cli("send")
    digests = [m for m in sink.messages if m["X-Mailbot-Kind"] == "digest"]
    readers = sorted(r for _, rcpts, _ in sink.envelopes for r in rcpts if r != "boss@example.org")
    assert readers == ["anne@example.org", "bob@example.net", "reader@example.com"]
    content = text_of(digests[0])
    assert "We swapped notes on user research panels." in content
    assert "I will copy their open data checklist." in content
    assert "Anne, Example Council" in content and "Bob, Example Borough" in content
    assert "How did it go" not in content and "Sent:" not in content and "wrote:" not in content
    assert digests[0].get_body(("html",)) is not None
    cli("send")
    cli("digest", "--preview")
    assert len([m for m in sink.messages if m["X-Mailbot-Kind"] == "digest"]) == 3


def text_of(msg: EmailMessage) -> str:
    return text(msg)
