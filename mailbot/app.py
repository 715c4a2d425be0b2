"""Wiring: turn a Config into the store, service, inbox and transport it describes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.clock import Clock, SystemClock
from mailbot.config import Config
from mailbot.inbox import ImapInbox, Inbox, MaildirInbox
from mailbot.outbox import LocalTransport, SmtpTransport, Transport, mailbox_folder
from mailbot.render import Renderer
from mailbot.rounds import Rounds
from mailbot.service import Service
from mailbot.store import SqliteStore


@dataclass
class App:
    config: Config
    store: SqliteStore
    service: Service
    rounds: Rounds
    open_inbox: Callable[[], Inbox]
    transport: Transport

    def close(self) -> None:
        self.store.close()


def build_app(config: Config, clock: Clock | None = None, migrate: bool = False) -> App:
    store = SqliteStore(config.bot.database)
    if migrate:
        store.migrate()
    else:
        store.require_schema()
    clock = clock or SystemClock()
    renderer = Renderer(config.digest.templates)  # organisers' overrides first
    service = Service(config, store, renderer, clock)
    rounds = Rounds(config, store, renderer, clock)
    return App(config, store, service, rounds, inbox_opener(config), make_transport(config))


def inbox_opener(config: Config) -> Callable[[], Inbox]:
    if config.local is not None and config.imap is None:
        root = mailbox_folder(config.local.maildir, config.bot.address)
        return lambda: MaildirInbox(root)
    imap = config.imap
    assert imap is not None
    return lambda: ImapInbox(imap)


def make_transport(config: Config) -> Transport:
    if config.local is not None and config.smtp is None:
        return LocalTransport(config.local.maildir)
    assert config.smtp is not None
    return SmtpTransport(config.smtp)
