"""``mailbot check``: try each part of a config for real and say what works."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

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
    """Secrets readable by others: a password written in the config, or a password or token
    file. Only a warning: the operator may have reasons (a group-readable deploy user)."""
    warnings = [
        f"{path} {what} and others can read it: chmod 600 {path}" + hint
        for path, what, hint in _secret_files(config)
        if _readable_by_others(path)
    ]
    return ("warn  " + "; ".join(warnings), True) if warnings else ("", True)


def _secret_files(config: Config) -> list[tuple[Path, str, str]]:
    try:
        data = tomllib.loads(config.path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = []
    for section in ("imap", "smtp"):
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        if table.get("password"):
            found.append((config.path, f"holds the {section} password", ", or use password_env"))
        for key in ("password_file", "token_file"):
            if isinstance(table.get(key), str) and table[key]:
                path = config.path.resolve().parent / Path(table[key]).expanduser()
                found.append((path, f"({section}.{key}) holds a secret", ""))
    return found


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


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
