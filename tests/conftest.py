"""Shared fixtures: a real Dovecot IMAP server and a real SMTP sink, both on loopback.

* ``dovecot_server`` (session): one Dovecot for the whole run.
* ``dovecot`` (function): the same server, seen as a brand-new user with an
  empty mailbox (fresh UIDVALIDITY, no folders but INBOX).  ``restart()`` keeps
  the mail; ``stop()`` stops the shared process but keeps the mail, and the
  fixture brings the server back after the test.
* ``smtp_sink`` (function): an aiosmtpd server collecting messages.

When Dovecot is missing the IMAP tests are skipped, except under CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from mailbot.testing_dovecot import DovecotServer, dovecot_unavailable_reason, start_dovecot
from mailbot.testing_smtp import SmtpSink

_user_numbers = itertools.count(1)


def _missing_dovecot(reason: str) -> None:
    message = f"Dovecot IMAP server not usable: {reason}"
    if "apt-get install" not in message:
        message += " (install it with `apt-get install dovecot-imapd`)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{message}; Dovecot is required under CI (CI=true).", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    reason = dovecot_unavailable_reason()
    if reason is not None:
        _missing_dovecot(reason)
    server = start_dovecot()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> Iterator[DovecotServer]:
    if not dovecot_server.running:
        dovecot_server.start()
    view = dovecot_server.as_user(f"bot{next(_user_numbers)}@example.org", "secret")
    try:
        yield view
    finally:
        # A test may stop or restart the shared server: leave it running for the next one.
        if not dovecot_server.running:
            dovecot_server.start()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
