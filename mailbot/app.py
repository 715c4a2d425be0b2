"""The composition root: turn a Config into the store, the use cases, the inbox and the
transport it describes, each built once here; tests pass doubles for the edges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.bounces import Bounces
from mailbot.clock import Clock, SystemClock
from mailbot.config import Config
from mailbot.digests import Digests
from mailbot.inbox import ImapInbox, Inbox, MaildirInbox
from mailbot.learnings import Learnings
from mailbot.outbox import LocalTransport, SmtpTransport, Transport, mailbox_folder
from mailbot.render import Renderer
from mailbot.rounds import Rounds
from mailbot.service import Service
from mailbot.store import SqliteStore


@dataclass
class App:
    config: Config
    store: SqliteStore
    service: Service  # inbound mail and outbound sending
    rounds: Rounds
    learnings: Learnings
    digests: Digests
    open_inbox: Callable[[], Inbox]
    transport: Transport

    def close(self) -> None:
        self.store.close()


def build_app(config: Config, clock: Clock | None = None, migrate: bool = False, *,
              inbox: Callable[[], Inbox] | None = None, transport: Transport | None = None,
              seed: Callable[[], int] | None = None) -> App:  # fmt: skip
    """Everything `config` describes, built once; `inbox`, `transport`, `clock` and `seed`
    replace the real edges (tests, benchmarks)."""
    store = SqliteStore(config.bot.database)
    if migrate:
        store.migrate()
    else:
        store.require_schema()
    clock = clock or SystemClock()
    renderer = Renderer(config.digest.templates)  # organisers' overrides first
    parts = (config, store, renderer, clock)
    rounds = Rounds(*parts, make_seed=seed)
    learnings, digests = Learnings(*parts), Digests(*parts)
    service = Service(*parts, rounds=rounds, learnings=learnings, digests=digests,
                      bounces=Bounces(*parts))  # fmt: skip
    return App(config, store, service, rounds, learnings, digests,
               inbox or inbox_opener(config), transport or make_transport(config))  # fmt: skip


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
