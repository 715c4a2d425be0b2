"""Helpers for tests against the real Dovecot: a config for it, and delivery by APPEND."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

from mailbot.config import ImapConfig
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpSink

BOT = "unmentoring@example.org"


def imap_config(server: DovecotServer, **overrides: object) -> ImapConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.user,
        "password": server.password,
        "timeout": 10.0,
    }
    values.update(overrides)
    return ImapConfig(**values)  # type: ignore[arg-type]


def client(server: DovecotServer) -> IMAPClient:
    c = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    c.login(server.user, server.password)
    return c


def append(server: DovecotServer, *messages: EmailMessage | bytes, folder: str = "INBOX") -> None:
    with client(server) as c:
        for msg in messages:
            c.append(folder, msg if isinstance(msg, bytes) else msg.as_bytes())


def folder_count(server: DovecotServer, folder: str) -> int:
    with client(server) as c:
        if not c.folder_exists(folder):
            return 0
        return int(c.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])


def write_config(directory: Path, server: DovecotServer, sink: SmtpSink, **extra: str) -> Path:
    path = directory / "mailbot.toml"
    path.write_text(f"""
[bot]
address = "{BOT}"
name = "UnMentoring"
database = "mailbot.db"
authserv_id = "mx.example.org"

[imap]
host = "{server.host}"
port = {server.port}
security = "none"
username = "{server.user}"
password_env = "TEST_IMAP_PASSWORD"
timeout = 10
batch_size = {extra.get("batch_size", "100")}

[smtp]
host = "{sink.host}"
port = {sink.port}
security = "none"
timeout = 10
""")
    return path
