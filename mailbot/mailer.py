"""Queue one outgoing email: render's headers around the text, a row in the outbox.

Every email mailbot sends goes through here, so each has the same robot and list headers
and a unique key per event (a second trigger with the same key queues nothing). Answers to
people's own mail come through `mailbot.answers` (the per-address reply limits); alerts to
the admins through `alert_admins` below (at most ``ALERTS_PER_DAY`` to each admin), so a
flood of bad mail cannot flood them.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from mailbot.config import BotConfig, Config
from mailbot.render import Envelope, Rendered, Renderer, compose_bytes, personal_lines
from mailbot.store import OutgoingMail, SqliteStore

log = logging.getLogger("mailbot.alerts")  # the log lines organisers know, unchanged


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
    reply: bool = False,
    about: str = "",
    digest_id: int | None = None,
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
    recipients = tuple(address for _, address in to)
    token = return_token(envelope.message_id) if bot.verp else ""
    store.enqueue(
        OutgoingMail(key, kind, topic or kind, return_path(bot.address, token), recipients,
                     envelope.message_id, compose_bytes(envelope, to, rendered), token, reply,
                     about, digest_id),
        now,
    )  # fmt: skip
    return envelope.message_id


def queue_copy(store: SqliteStore, bot: BotConfig, key: str, kind: str, to: tuple[str, str],
               body_id: int, now: datetime, *, digest_id: int | None = None) -> bool:  # fmt: skip
    """Queue one reader's copy of a shared body (`render.compose` without To and Message-ID):
    only its own To and Message-ID lines are stored. False when ``key`` was queued before."""
    message_id = make_msgid(idstring=kind, domain=bot.domain)
    token = return_token(message_id) if bot.verp else ""
    mail = OutgoingMail(key, kind, kind, return_path(bot.address, token), (to[1],), message_id,
                        personal_lines(to, message_id), token, digest_id=digest_id,
                        body_id=body_id)  # fmt: skip
    return store.enqueue(mail, now)


def return_token(message_id: str) -> str:
    """Short and unguessable from outside (Message-IDs carry random bits)."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:16]


def return_path(address: str, token: str) -> str:
    """VERP: bounces come back to ``local+bounces-TOKEN@domain``, which names the message
    even when the report quotes nothing of it. Needs plus addressing on the bot's mailbox."""
    if not token:
        return address
    local, _, domain = address.rpartition("@")
    return f"{local}+bounces-{token}@{domain}"


ALERTS_PER_DAY = 20


def alert_admins(config: Config, store: SqliteStore, renderer: Renderer, key: str,
                 template: str, context: dict[str, Any], now: datetime,
                 about: str = "") -> int:  # fmt: skip
    """Queue ``template`` to every admin under ``key``; returns how many were queued.
    ``about``: the person it concerns, so that forgetting them withdraws it."""
    bot = config.bot
    view = {"bot": bot.view, **context}
    rendered = renderer.render(template, view)
    queued = 0
    for admin in bot.admins:
        if store.mail_count(admin, now - timedelta(days=1), ("admin",)) >= ALERTS_PER_DAY:
            log.warning("not alerting %s about %s: %d alerts today already", admin, key,
                        ALERTS_PER_DAY)  # fmt: skip
            continue
        queue_email(store, bot, f"{key}:{admin}", "admin-alert", [("", admin)], rendered, now,
                    topic="admin", about=about)  # fmt: skip
        queued += 1
    return queued
