"""Shared fixtures: a real Dovecot IMAP server and a real SMTP sink, both on loopback.

* ``dovecot_server`` (session): one Dovecot for the whole run.
* ``dovecot`` (function): the same server, seen as a brand-new user with an
  empty mailbox (fresh UIDVALIDITY, no folders but INBOX).  ``restart()`` keeps
  the mail; ``stop()`` stops the shared process but keeps the mail, and the
  fixture brings the server back after the test.
* ``smtp_sink`` (function): an aiosmtpd server collecting messages.
* ``tls_ca`` (session): a throwaway certificate authority (trustme); its
  certificate is at ``tls_ca_file`` for clients' ``ca_file``.
* ``dovecot_tls_server`` (session): a second Dovecot serving a certificate for
  127.0.0.1 from ``tls_ca``: STARTTLS on ``port``, implicit TLS on ``tls_port``.
* ``dovecot_usable`` (session): skips (or fails under CI) without Dovecot, for
  tests that start a Dovecot of their own.

When Dovecot is missing the IMAP tests are skipped, except under CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.servers.dovecot import DovecotServer, dovecot_unavailable_reason, start_dovecot
from tests.servers.smtp import SmtpSink

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


@pytest.fixture(scope="session")
def dovecot_usable() -> None:
    reason = dovecot_unavailable_reason()
    if reason is not None:
        _missing_dovecot(reason)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA(organization_name="mailbot test CA")


@pytest.fixture(scope="session")
def tls_ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def dovecot_tls_server(
    dovecot_usable: None, tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DovecotServer]:
    folder = tmp_path_factory.mktemp("dovecot-tls")
    issued = tls_ca.issue_cert("127.0.0.1")
    issued.private_key_pem.write_to_path(str(folder / "key.pem"))
    for number, pem in enumerate(issued.cert_chain_pems):
        pem.write_to_path(str(folder / "cert.pem"), append=number > 0)
    server = start_dovecot(tls_cert=folder / "cert.pem", tls_key=folder / "key.pem")
    try:
        yield server
    finally:
        server.stop()
