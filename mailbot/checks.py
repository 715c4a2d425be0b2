"""``mailbot check``: try each part of a config for real and say what works."""

from __future__ import annotations

import os
import stat

from mailbot.app import inbox_opener, make_transport
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.outbox import SmtpTransport
from mailbot.store import SqliteStore


def run_checks(config: Config) -> tuple[list[str], bool]:
    lines = [f"ok    config {config.path}"]
    ok = True
    for check in (_check_permissions, _check_database, _check_inbox, _check_outbox):
        line, passed = check(config)
        if line:
            lines.append(line)
        ok = ok and passed
    return lines, ok


def _check_permissions(config: Config) -> tuple[str, bool]:
    has_password = any(c is not None and c.password for c in (config.imap, config.smtp))
    try:
        mode = os.stat(config.path).st_mode
    except OSError:
        return "", True
    if has_password and mode & (stat.S_IRGRP | stat.S_IROTH):
        return (
            f"warn  {config.path} holds a password and others can read it: "
            f"chmod 600 {config.path}, or use password_env"
        ), True
    return "", True


def _check_database(config: Config) -> tuple[str, bool]:
    try:
        store = SqliteStore(config.bot.database)
        try:
            store.require_schema()
        finally:
            store.close()
    except MailbotError as exc:
        return f"FAIL  database: {exc}", False
    return f"ok    database {config.bot.database}", True


def _check_inbox(config: Config) -> tuple[str, bool]:
    try:
        inbox = inbox_opener(config)()
    except MailbotError as exc:
        return f"FAIL  inbox: {exc}", False
    try:
        count = inbox.count()  # type: ignore[attr-defined]
    finally:
        inbox.close()
    return f"ok    inbox {inbox.mailbox}: {count} message(s) waiting", True  # type: ignore


def _check_outbox(config: Config) -> tuple[str, bool]:
    transport = make_transport(config)
    if not isinstance(transport, SmtpTransport):
        return f"ok    outbox: local mailboxes in {config.local.maildir}", True  # type: ignore
    try:
        return f"ok    smtp: {transport.check()}", True
    except MailbotError as exc:
        return f"FAIL  smtp: {exc}", False
