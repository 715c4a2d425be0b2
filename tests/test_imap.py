"""ImapInbox against a real Dovecot on loopback."""

from __future__ import annotations

import pytest

from mailbot.errors import InboxError
from mailbot.inbox import DONE_FLAG, ImapInbox
from mailbot.testing import make_mail
from tests.imap_helpers import append, client, folder_count, imap_config

pytestmark = pytest.mark.imap


def test_batches_then_move_to_processed_and_failed(dovecot):
    append(dovecot, *(make_mail(subject=f"m{n}") for n in range(5)))
    inbox = ImapInbox(imap_config(dovecot))
    try:
        assert inbox.uidvalidity > 0
        batches = list(inbox.batches(2, 10**6))
        assert [len(b) for b in batches] == [2, 2, 1]
        items = [i for b in batches for i in b]
        assert [i.uid for i in items] == ["1", "2", "3", "4", "5"]
        assert b"Subject: m0" in items[0].raw
        inbox.done(items[:4])
        inbox.set_aside(items[4:])
        assert inbox.count() == 0
    finally:
        inbox.close()
    assert folder_count(dovecot, "Processed") == 4
    assert folder_count(dovecot, "Failed") == 1
    assert folder_count(dovecot, "INBOX") == 0


def test_fetching_does_not_mark_mail_as_read(dovecot):
    append(dovecot, make_mail(subject="peek"))
    inbox = ImapInbox(imap_config(dovecot))
    list(inbox.batches(10, 10**6))
    inbox.close()
    with client(dovecot) as c:
        c.select_folder("INBOX")
        assert c.search(["UNSEEN"]) == [1]


def test_flag_mode_leaves_mail_in_place(dovecot):
    append(dovecot, make_mail(subject="a"), make_mail(subject="b"))
    inbox = ImapInbox(imap_config(dovecot, after="flag"))
    [batch] = list(inbox.batches(10, 10**6))
    inbox.done(batch[:1])
    assert [i.uid for b in inbox.batches(10, 10**6) for i in b] == ["2"]
    inbox.close()
    with client(dovecot) as c:
        c.select_folder("INBOX")
        assert DONE_FLAG.encode() in c.get_flags([1])[1]
        assert not c.folder_exists("Processed")


def test_oversized_messages_are_not_downloaded(dovecot):
    append(dovecot, make_mail(subject="big", body="x" * 50_000), make_mail(subject="small"))
    inbox = ImapInbox(imap_config(dovecot))
    [batch] = list(inbox.batches(10, 10_000))
    inbox.close()
    assert batch[0].raw == b"" and batch[0].size > 50_000
    assert b"small" in batch[1].raw


def test_a_message_deleted_by_someone_else_mid_poll_is_skipped(dovecot):
    append(dovecot, *(make_mail(subject=f"m{n}") for n in range(3)))
    inbox = ImapInbox(imap_config(dovecot))
    batches = inbox.batches(1, 10**6)
    first = next(batches)
    with client(dovecot) as other:
        other.select_folder("INBOX")
        other.delete_messages([2])
        other.expunge()
    rest = [i.uid for b in batches for i in b]
    inbox.close()
    assert first[0].uid == "1" and rest == ["3"]


def test_wrong_password_is_a_clear_error(dovecot):
    with pytest.raises(InboxError, match="IMAP login to .* failed"):
        ImapInbox(imap_config(dovecot, password="wrong"))


def test_unreachable_server_is_a_clear_error(dovecot):
    with pytest.raises(InboxError, match="cannot reach IMAP server"):
        ImapInbox(imap_config(dovecot, port=1, timeout=2.0))


def test_restart_mid_poll_loses_nothing(dovecot):
    append(dovecot, *(make_mail(subject=f"m{n}") for n in range(3)))
    inbox = ImapInbox(imap_config(dovecot))
    batches = inbox.batches(1, 10**6)
    first = next(batches)
    inbox.done(first)
    dovecot.restart()
    with pytest.raises(InboxError):
        next(batches)
    inbox = ImapInbox(imap_config(dovecot))
    remaining = [i.uid for b in inbox.batches(10, 10**6) for i in b]
    inbox.close()
    assert remaining == ["2", "3"]
