"""IMAP IDLE against the real Dovecot: new mail is acted on within seconds, none is missed."""

from __future__ import annotations

import threading
import time

import pytest

from mailbot.app import build_app
from mailbot.daemon import Daemon
from mailbot.inbox import ImapInbox
from mailbot.testing import RecordingTransport, make_config, make_mail
from tests.imap_helpers import append, imap_config

pytestmark = pytest.mark.imap

ANNE = "Anne Person <anne@example.org>"


def test_mail_that_came_after_the_poll_began_ends_the_wait_at_once(dovecot):
    polled = ImapInbox(imap_config(dovecot))
    since = (polled.uidvalidity, polled.uidnext)
    polled.close()
    append(dovecot, make_mail(ANNE, "join"))  # between the poll's fetch and the IDLE
    waiting = ImapInbox(imap_config(dovecot))
    try:
        started = time.monotonic()
        assert waiting.wait(since, 30, lambda: False) is True
        assert time.monotonic() - started < 2
    finally:
        waiting.close()


def test_without_new_mail_the_wait_ends_when_its_time_is_up_or_on_stop(dovecot):
    append(dovecot, make_mail(ANNE, "an old one, waiting for a retry"))
    inbox = ImapInbox(imap_config(dovecot))
    try:
        since = (inbox.uidvalidity, inbox.uidnext)
        assert inbox.wait(since, 1.5, lambda: False) is False  # old mail does not wake it
        started = time.monotonic()
        assert inbox.wait(since, 60, lambda: True) is False
        assert time.monotonic() - started < 2
    finally:
        inbox.close()


def test_a_server_without_idle_means_polling(dovecot):
    inbox = ImapInbox(imap_config(dovecot))
    try:
        inbox.client.capabilities = lambda: (b"IMAP4REV1",)  # type: ignore[method-assign]
        assert inbox.wait((inbox.uidvalidity, inbox.uidnext), 30, lambda: False) is None
    finally:
        inbox.close()


def test_the_daemon_answers_a_join_within_seconds_with_a_minute_between_polls(dovecot, tmp_path):
    config = make_config(tmp_path)  # poll_interval 60 s
    assert config.daemon.poll_interval == 60
    transport = RecordingTransport()
    ready, stop = threading.Event(), threading.Event()
    daemons: list[Daemon] = []

    def serve() -> None:
        app = build_app(config, migrate=True, transport=transport,
                        inbox=lambda: ImapInbox(imap_config(dovecot)))  # fmt: skip
        daemon = Daemon(app, stop)
        daemons.append(daemon)
        ready.set()
        try:
            daemon.run()
        finally:
            app.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        deadline = time.monotonic() + 20
        while daemons[0].last_poll is None and time.monotonic() < deadline:
            time.sleep(0.1)  # the first cycle has polled; now it waits in IDLE
        time.sleep(1)
        started = time.monotonic()
        append(dovecot, make_mail(ANNE, "join"))
        while not transport.messages("anne@example.org") and time.monotonic() < started + 20:
            time.sleep(0.05)
        took = time.monotonic() - started
        assert transport.messages("anne@example.org"), "no answer within 20 s"
        assert took < 5, f"the answer took {took:.1f} s"
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
