"""Inbox faults and erasure against a real Dovecot on loopback: UIDVALIDITY changes and
``forget`` deleting filed mail."""

from __future__ import annotations

import time

import pytest

from mailbot.app import App
from mailbot.daemon import Daemon
from mailbot.inbox import ImapInbox
from mailbot.testing import make_mail, make_reply
from tests.helpers import ANNE, BOB, make_world
from tests.imap_helpers import append, client, folder_count, imap_config

pytestmark = pytest.mark.imap


def reset_uidvalidity(server) -> None:
    """What a server restore or mailbox rebuild does: every UID and UIDVALIDITY renumbered."""
    maildir = server.root / "home" / server.user / "Maildir"
    for path in maildir.glob("dovecot*"):
        if path.is_file():
            path.unlink()
    time.sleep(1.1)  # Dovecot takes the new UIDVALIDITY from the clock, in whole seconds


def test_a_uidvalidity_change_neither_repeats_nor_misses_mail(dovecot, tmp_path):
    world = make_world(tmp_path)
    no_id = make_mail("Cat Person <cat@example.com>", "join")
    del no_id["Message-ID"]
    append(dovecot, make_mail(ANNE, "join"), no_id)
    inbox = ImapInbox(imap_config(dovecot))
    before = inbox.uidvalidity
    for item in next(inbox.batches(10, 10**6)):
        world.service.process(item)  # committed; then the process died before the move
    inbox.close()
    reset_uidvalidity(dovecot)
    append(dovecot, make_mail(BOB, "join"))
    inbox = ImapInbox(imap_config(dovecot))
    assert inbox.uidvalidity != before
    report = world.service.poll(inbox)
    inbox.close()
    world.service.send(world.transport)
    assert report.processed == 3 and report.ignored == 2
    assert folder_count(dovecot, "INBOX") == 0 and folder_count(dovecot, "Processed") == 3
    for person in ("anne@example.org", "cat@example.com", "bob@example.net"):
        assert [m["X-Mailbot-Kind"] for m in world.mail_to(person)] == ["confirm"], person


@pytest.mark.parametrize("after", ["move", "flag"])
def test_erase_deletes_only_that_senders_filed_mail(dovecot, tmp_path, after):
    world = make_world(tmp_path)
    append(
        dovecot,
        make_mail(ANNE, "join"),
        make_mail("Joanne <joanne@example.org>", "join"),  # FROM search would match her too
        make_mail(ANNE, "status"),
    )
    inbox = ImapInbox(imap_config(dovecot, after=after))
    world.service.poll(inbox)
    append(dovecot, make_mail(ANNE, "help"))  # not processed yet: not ours to delete
    world.receive()
    assert inbox.erase("anne@example.org") == 2
    inbox.close()
    folder = "INBOX" if after == "flag" else "Processed"
    with client(dovecot) as c:
        c.select_folder(folder)
        senders = [
            d[b"ENVELOPE"].from_[0].mailbox.decode()
            for d in c.fetch(c.search(["ALL"]), ["ENVELOPE"]).values()
        ]
    assert sorted(senders) == (["anne", "joanne"] if after == "flag" else ["joanne"])


def test_forget_by_email_erases_the_filed_mail_at_once(dovecot, tmp_path):
    world = make_world(tmp_path)
    append(dovecot, make_mail(ANNE, "join"), make_mail(BOB, "join"))
    inbox = ImapInbox(imap_config(dovecot))
    world.service.poll(inbox)
    inbox.close()
    append(dovecot, make_mail(ANNE, "forget"))
    inbox = ImapInbox(imap_config(dovecot))  # as the daemon does: a session per cycle
    world.service.poll(inbox)
    inbox.close()
    world.service.send(world.transport)
    [asked] = [m for m in world.mail_to("anne@example.org") if "confirm" in str(m["Subject"])
               and "forget" in str(m["Subject"])]  # forget always asks first
    append(dovecot, make_reply(asked, ANNE, "yes, forget me"))
    inbox = ImapInbox(imap_config(dovecot))
    world.service.poll(inbox)
    inbox.close()
    assert folder_count(dovecot, "Processed") == 1  # Bob's join
    assert world.store.pending_erasures() == ["anne@example.org"]  # her goodbye is still due
    world.service.send(world.transport)
    inbox = ImapInbox(imap_config(dovecot))
    world.service.poll(inbox)  # the goodbye has gone: nothing of her is left
    inbox.close()
    assert not world.store.pending_erasures()
    assert "anne@example.org" not in str(list(world.store.db.query("select * from outbox")))


def test_the_daemon_backs_off_a_refused_login_and_recovers(dovecot, tmp_path, caplog):
    world = make_world(tmp_path)
    append(dovecot, make_mail(ANNE, "join"))
    password = {"value": "wrong"}
    now = {"t": 0.0}
    logins = []

    def open_inbox():
        logins.append(now["t"])
        return ImapInbox(imap_config(dovecot, password=password["value"]))

    app = App(world.config, world.store, world.service, world.rounds, world.service.learnings,
              world.service.digests, open_inbox, world.transport)  # fmt: skip
    daemon = Daemon(app, monotonic=lambda: now["t"])
    for _ in range(8):  # eight one-minute cycles with the wrong password
        daemon.cycle()
        now["t"] += 60
    assert logins == [0, 60, 180, 420]  # 1, 2, 4 minutes between tries
    assert "IMAP login to" in caplog.text and "failed" in caplog.text
    password["value"] = dovecot.password  # the organiser fixes it
    for _ in range(10):
        daemon.cycle()
        now["t"] += 60
    assert world.state("anne@example.org") == "pending"
    assert folder_count(dovecot, "INBOX") == 0
