"""The test servers themselves: a real Dovecot and a real SMTP sink on loopback."""

from __future__ import annotations

import os
import smtplib
import socket
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient

from tests.servers.dovecot import DovecotServer, start_dovecot
from tests.servers.smtp import SmtpSink

RAW = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bot@example.org\r\n"
    b"Subject: Hello bot\r\n"
    b"Message-ID: <hello-1@example.org>\r\n"
    b"\r\n"
    b"Pair me up, please.\r\n"
)


def connect(server: DovecotServer) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    client.login(server.user, server.password)
    return client


def gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.imap
def test_append_move_and_survive_restart(dovecot: DovecotServer) -> None:
    assert dovecot.host == "127.0.0.1"
    client = connect(dovecot)
    try:
        client.append("INBOX", RAW)
        selected = client.select_folder("INBOX")
        uidvalidity = selected[b"UIDVALIDITY"]
        assert isinstance(uidvalidity, int) and uidvalidity > 0
        assert selected[b"EXISTS"] == 1
        (uid,) = client.search(["HEADER", "Message-ID", "<hello-1@example.org>"])

        client.create_folder("Processed")
        assert b"MOVE" in client.capabilities()
        client.move([uid], "Processed")
        assert client.search(["ALL"]) == []
        assert client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
    finally:
        client.logout()

    old_pid = dovecot.pid
    dovecot.restart()
    assert dovecot.running and dovecot.pid != old_pid

    client = connect(dovecot)
    try:
        assert client.select_folder("INBOX")[b"UIDVALIDITY"] == uidvalidity
        assert client.search(["ALL"]) == []
        client.select_folder("Processed", readonly=True)
        uids = client.search(["ALL"])
        assert len(uids) == 1
        body = client.fetch(uids, ["RFC822"])[uids[0]][b"RFC822"]
        assert b"Subject: Hello bot" in body
    finally:
        client.logout()


@pytest.mark.imap
def test_restart_drops_open_connections(dovecot: DovecotServer) -> None:
    client = connect(dovecot)
    client.select_folder("INBOX")
    dovecot.restart()
    with pytest.raises((OSError, IMAPClient.AbortError, IMAPClient.Error)):
        client.noop()
    client.shutdown()
    connect(dovecot).logout()


@pytest.mark.imap
def test_each_test_gets_a_fresh_empty_mailbox(
    dovecot: DovecotServer, dovecot_server: DovecotServer
) -> None:
    assert dovecot.user != dovecot_server.user
    assert dovecot.port == dovecot_server.port
    client = connect(dovecot)
    try:
        assert [name for _flags, _sep, name in client.list_folders()] == ["INBOX"]
        selected = client.select_folder("INBOX")
        assert selected[b"EXISTS"] == 0
        assert selected[b"UIDNEXT"] == 1
    finally:
        client.logout()


@pytest.mark.imap
def test_wrong_password_is_rejected(dovecot: DovecotServer) -> None:
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    with pytest.raises(IMAPClient.Error):
        client.login(dovecot.user, "not-the-password")
    client.shutdown()


@pytest.mark.imap
def test_password_change_takes_effect_at_once(dovecot: DovecotServer) -> None:
    connect(dovecot).logout()
    dovecot.add_user(dovecot.user, "changed")
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    with pytest.raises(IMAPClient.Error):
        client.login(dovecot.user, dovecot.password)
    client.shutdown()
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(dovecot.user, "changed")
    client.logout()


@pytest.mark.imap
def test_stopping_the_shared_server_keeps_the_mail(dovecot: DovecotServer) -> None:
    client = connect(dovecot)
    client.append("INBOX", RAW)
    client.logout()

    pid = dovecot.pid
    assert pid is not None
    dovecot.stop()
    assert not dovecot.running and gone(pid)
    with pytest.raises(OSError):
        socket.create_connection((dovecot.host, dovecot.port), timeout=2).close()

    dovecot.start()
    client = connect(dovecot)
    try:
        assert client.select_folder("INBOX")[b"EXISTS"] == 1
    finally:
        client.logout()


@pytest.mark.imap
def test_private_server_with_extra_users_cleans_up(dovecot_server: DovecotServer) -> None:
    server = start_dovecot(extra_users={"alice@example.org": "wonderland"})
    try:
        assert server.port != dovecot_server.port
        assert server.user == "bot@example.org"
        alice = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
        alice.login("alice@example.org", "wonderland")
        alice.logout()
        connect(server).logout()
        pid = server.pid
        assert pid is not None
    finally:
        server.stop()
    assert gone(pid)
    assert not server.root.exists()
    server.stop()  # idempotent


def test_smtp_sink_receives_messages(smtp_sink: SmtpSink) -> None:
    assert smtp_sink.host == "127.0.0.1" and smtp_sink.port > 0
    msg = EmailMessage()
    msg["From"] = "bot@example.org"
    msg["To"] = "alice@example.org"
    msg["Subject"] = "Your pairing this week – café?"
    msg.set_content("Hello Alice,\nmeet Bob.\n")

    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as smtp:
        smtp.send_message(msg, to_addrs=["alice@example.org", "cc@example.org"])

    (received,) = smtp_sink.wait_for(1)
    assert received["Subject"] == "Your pairing this week – café?"
    assert received.get_content() == "Hello Alice,\nmeet Bob.\n"
    (envelope,) = smtp_sink.envelopes
    assert envelope.mail_from == "bot@example.org"
    assert envelope.rcpt_tos == ["alice@example.org", "cc@example.org"]
    assert isinstance(envelope.content, bytes)

    smtp_sink.clear()
    assert smtp_sink.messages == [] and smtp_sink.envelopes == []


def test_smtp_sink_restarts_on_the_same_port() -> None:
    with SmtpSink() as sink:
        port = sink.port
        sink.stop()
        with pytest.raises(OSError):
            smtplib.SMTP(sink.host, port, timeout=2)
        sink.start()
        assert sink.port == port
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nbody\r\n")
        assert [m["Subject"] for m in sink.wait_for(1)] == ["x"]
    assert not sink.running
