"""TLS for real: implicit TLS and STARTTLS against Dovecot and aiosmtpd, with a throwaway CA.

Certificates are checked by default, so a server whose certificate is not signed by a
trusted CA, or names another host, is refused with a clear "certificate verify failed".
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailbot.checks import run_checks
from mailbot.config import ImapConfig, SmtpConfig, parse_config
from mailbot.errors import InboxError
from mailbot.inbox import ImapInbox
from mailbot.outbox import PermanentFailure, SmtpTransport, TemporaryFailure
from tests.servers.dovecot import DovecotServer, start_dovecot
from tests.servers.smtp import SmtpSink

RAW = b"From: bot@example.org\r\nTo: anne@example.org\r\nSubject: Hello\r\n\r\nHi Anne.\r\n"


def server_context(ca: trustme.CA, name: str = "127.0.0.1") -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


def imap_tls_config(server: DovecotServer, security: str, **overrides: Any) -> ImapConfig:
    port = server.tls_port if security == "ssl" else server.port
    assert port is not None
    values: dict[str, Any] = {
        "host": server.host,
        "port": port,
        "security": security,
        "username": server.user,
        "password": server.password,
        "timeout": 10.0,
    }
    values.update(overrides)
    return ImapConfig(**values)


def sink_for(security: str, context: ssl.SSLContext, **options: Any) -> SmtpSink:
    if security == "ssl":
        return SmtpSink(ssl_context=context, **options)
    return SmtpSink(tls_context=context, require_starttls=True, **options)


def smtp_config(sink: SmtpSink, security: str, **overrides: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": sink.host,
        "port": sink.port,
        "security": security,
        "timeout": 10.0,
    }
    values.update(overrides)
    return SmtpConfig(**values)


def send_one(config: SmtpConfig) -> None:
    with SmtpTransport(config).connect() as conn:
        assert conn.send("bot@example.org", ("anne@example.org",), RAW) == {}


# -- IMAP ---------------------------------------------------------------------


@pytest.mark.imap
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_connects_over_tls_trusting_the_ca_file(
    dovecot_tls_server: DovecotServer, tls_ca_file: Path, security: str
) -> None:
    inbox = ImapInbox(imap_tls_config(dovecot_tls_server, security, ca_file=tls_ca_file))
    try:
        assert isinstance(inbox.client.socket(), ssl.SSLSocket)
        assert inbox.count() == 0
    finally:
        inbox.close()


@pytest.mark.imap
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_refuses_a_certificate_from_an_unknown_ca(
    dovecot_tls_server: DovecotServer, security: str
) -> None:
    with pytest.raises(InboxError) as caught:
        ImapInbox(imap_tls_config(dovecot_tls_server, security))  # no ca_file: system CAs only
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert f"{dovecot_tls_server.host}:" in message
    assert "ca_file" in message


@pytest.mark.imap
def test_imap_refuses_a_certificate_for_another_host(
    dovecot_usable: None, tls_ca: trustme.CA, tls_ca_file: Path, tmp_path: Path
) -> None:
    issued = tls_ca.issue_cert("imap.example.org")
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    server = start_dovecot(tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem")
    try:
        for security in ("ssl", "starttls"):
            with pytest.raises(InboxError) as caught:
                ImapInbox(imap_tls_config(server, security, ca_file=tls_ca_file))
            assert "certificate verify failed" in str(caught.value)
            assert "mismatch" in str(caught.value)
    finally:
        server.stop()


# -- SMTP ---------------------------------------------------------------------


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_smtp_sends_over_tls_trusting_the_ca_file(
    tls_ca: trustme.CA, tls_ca_file: Path, security: str
) -> None:
    # The STARTTLS sink refuses mail before STARTTLS, the other speaks only TLS.
    with sink_for(security, server_context(tls_ca)) as sink:
        send_one(smtp_config(sink, security, ca_file=tls_ca_file))
        assert sink.wait_for(1)[0]["Subject"] == "Hello"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
@pytest.mark.parametrize("name", ["127.0.0.1", "smtp.example.org"])
def test_smtp_refuses_an_unknown_ca_or_another_host(
    tls_ca: trustme.CA, tls_ca_file: Path, security: str, name: str
) -> None:
    trusted = name != "127.0.0.1"  # the right name from an unknown CA, or the wrong name
    with sink_for(security, server_context(tls_ca, name)) as sink:
        config = smtp_config(sink, security, ca_file=tls_ca_file if trusted else None)
        with pytest.raises(TemporaryFailure) as caught:
            send_one(config)
        assert "certificate verify failed" in str(caught.value)
        assert ("mismatch" in str(caught.value)) == trusted
        assert len(sink) == 0


@pytest.fixture
def login_sink(tls_ca: trustme.CA) -> Iterator[SmtpSink]:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        good = isinstance(data, LoginPassword) and data == (b"bot@example.org", b"s3cret")
        return AuthResult(success=good and mechanism != "XOAUTH2", handled=False)

    with SmtpSink(tls_context=server_context(tls_ca), authenticator=authenticator) as sink:
        yield sink


def test_smtp_password_login_after_starttls(login_sink: SmtpSink, tls_ca_file: Path) -> None:
    config = smtp_config(login_sink, "starttls", ca_file=tls_ca_file, username="bot@example.org")
    with pytest.raises(TemporaryFailure, match="SMTP login as bot@example.org refused: 535"):
        send_one(SmtpConfig(**{**config.__dict__, "password": "wrong"}))
    send_one(SmtpConfig(**{**config.__dict__, "password": "s3cret"}))
    assert len(login_sink.wait_for(1)) == 1


def test_smtp_sink_without_login_refuses_mail_when_auth_is_required(
    login_sink: SmtpSink, tls_ca_file: Path
) -> None:
    with pytest.raises(PermanentFailure, match="530 5.7.0 Authentication required"):
        send_one(smtp_config(login_sink, "starttls", ca_file=tls_ca_file))
    assert len(login_sink) == 0


# -- mailbot check ------------------------------------------------------------


@pytest.mark.imap
def test_check_says_which_certificate_failed(
    dovecot_tls_server: DovecotServer, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    with SmtpSink(ssl_context=server_context(tls_ca)) as sink:
        data = {
            "bot": {"address": "unmentoring@example.org", "database": "mailbot.db"},
            "imap": {
                "host": dovecot_tls_server.host,
                "port": dovecot_tls_server.tls_port,
                "username": dovecot_tls_server.user,
                "password": dovecot_tls_server.password,
                "timeout": 10,
            },
            "smtp": {"host": sink.host, "port": sink.port, "security": "ssl", "timeout": 10},
        }
        lines, ok = run_checks(parse_config(data, tmp_path / "mailbot.toml", {}))
    assert not ok
    (inbox,) = [line for line in lines if "inbox" in line]
    (smtp,) = [line for line in lines if "smtp" in line]
    assert inbox.startswith("FAIL  inbox: IMAP server 127.0.0.1:")
    assert smtp.startswith("FAIL  smtp: SMTP server 127.0.0.1:")
    for line in (inbox, smtp):
        assert "TLS certificate verify failed" in line and "\n" not in line
