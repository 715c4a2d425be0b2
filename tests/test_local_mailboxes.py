"""Addresses are never paths (issue #10): local mailboxes of the embedded default.

A sender's address becomes a Maildir under ``[local] maildir``; an address that could be a
path gets a hashed folder inside it, and a recipient whose mailbox cannot be written to is that
recipient's failure, never the daemon's. Tried for real: the embedded aiosmtpd server on a free
loopback port, and the whole daemon path with a poisoned From.
"""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from mailbot.embedded import EmbeddedSmtp
from mailbot.outbox import LocalConnection, LocalTransport, mailbox_folder
from mailbot.testing import make_mail
from tests.helpers import make_world

HOSTILE = ["/some/folder/pwn@example.org", "../../pwn@example.org", "/dev/null/x@example.org",
           "..@example.org", "a b@example.org", "café@example.org", "-rf@example.org",
           ".hidden@example.org", "x@" + "y" * 300 + ".org"]  # fmt: skip


@pytest.mark.parametrize("address", HOSTILE)
def test_a_hostile_address_gets_a_folder_inside_the_root(tmp_path, address):
    folder = mailbox_folder(tmp_path / "mail", address)
    assert folder.parent == tmp_path / "mail" and folder.name.startswith("x-")
    assert len(folder.name) < 40


def test_a_plain_address_is_its_own_folder(tmp_path):
    assert mailbox_folder(tmp_path, "Anne@Example.org") == tmp_path / "anne@example.org"


def test_delivery_never_writes_outside_the_root_and_fails_alone(tmp_path):
    root = tmp_path / "mail"
    conn = LocalConnection(root)
    refused = conn.send("bot@example.org", ("/some/folder/pwn@example.org", "anne@example.org"),
                        b"Subject: hi\r\n\r\nhello\r\n")  # fmt: skip
    assert refused == {}
    assert not (tmp_path / "some").exists() and not Path("/some/folder/pwn@example.org").exists()
    hashed = mailbox_folder(root, "/some/folder/pwn@example.org")
    assert (hashed / "address").read_text().strip() == "/some/folder/pwn@example.org"
    assert len(list((hashed / "new").iterdir())) == 1
    assert len(list((root / "anne@example.org" / "new").iterdir())) == 1


def test_an_unwritable_mailbox_is_that_recipients_refusal(tmp_path):
    root = tmp_path / "mail"
    root.mkdir()
    (root / "bob@example.net").write_text("not a folder")  # the disk refuses this one
    recipients = ("bob@example.net", "anne@example.org")
    refused = LocalConnection(root).send("bot@example.org", recipients, b"Subject: hi\r\n\r\nhi")
    assert list(refused) == ["bob@example.net"] and refused["bob@example.net"].startswith("550")
    assert (root / "anne@example.org" / "new").is_dir()


def test_the_embedded_server_refuses_path_addresses_and_delivers_the_rest(tmp_path):
    server = EmbeddedSmtp(tmp_path / "mail", port=0).start()
    try:
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            refused = client.sendmail("x@example.org",
                                      ["/dev/null/x@example.org", "anne@example.org"],
                                      b"Subject: hi\r\n\r\nhello\r\n")  # fmt: skip
        assert "/dev/null/x@example.org" in refused
        assert len(list((tmp_path / "mail" / "anne@example.org" / "new").iterdir())) == 1
    finally:
        server.stop()


@pytest.mark.parametrize("sender", ["/dev/null/x@example.org", "/tmp/pwn/x@example.org"])
def test_a_path_like_sender_is_answered_without_harm(tmp_path, sender):
    """The bot's reply to such a From must not kill the send loop, nor write outside."""
    world = make_world(tmp_path)
    world.receive(make_mail(f"Mallory <{sender}>", "help"))
    transport = LocalTransport(world.config.local.maildir)
    world.service.send(transport)  # must not raise
    assert not Path("/tmp/pwn").exists()
    assert all(p.is_relative_to(world.config.local.maildir)
               for p in world.config.local.maildir.rglob("*"))  # fmt: skip
