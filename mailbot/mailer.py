"""Queue one outgoing email: render's headers around the text, a row in the outbox.

Every email mailbot sends goes through here, so each has the same robot and list headers
and a unique key per event (a second trigger with the same key queues nothing).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid

from mailbot.config import BotConfig
from mailbot.render import Envelope, Rendered, compose
from mailbot.store import OutgoingMail, SqliteStore


def queue_email(
    store: SqliteStore,
    bot: BotConfig,
    key: str,
    kind: str,
    to: list[tuple[str, str]],
    rendered: Rendered,
    now: datetime,
    *,
    topic: str = "",
    message_id: str = "",
    reply_to: list[tuple[str, str]] | None = None,
    auto_submitted: str = "auto-generated",
    in_reply_to: str = "",
    references: str = "",
    unsubscribe: str = "leave",
) -> str:
    """Queue it under ``key``; returns its Message-ID."""
    envelope = Envelope(
        bot.name,
        bot.address,
        kind,
        message_id or make_msgid(idstring=kind, domain=bot.domain),
        now,
        auto_submitted,
        in_reply_to=in_reply_to,
        references=references,
        reply_to=tuple(reply_to or ()),
        unsubscribe=unsubscribe,
    )
    msg = compose(envelope, to, rendered)
    recipients = tuple(address for _, address in to)
    store.enqueue(
        OutgoingMail(key, kind, topic or kind, bot.address, recipients, envelope.message_id,
                     msg.as_bytes()),
        now,
    )  # fmt: skip
    return envelope.message_id
