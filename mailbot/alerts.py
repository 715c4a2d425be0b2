"""Tell the admins about something only a person can fix: a message we could not process,
a member whose address bounces. Each event is told once (its outbox key), and at most
``ALERTS_PER_DAY`` alerts go to an admin a day, so a flood of bad mail cannot flood them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from mailbot.config import Config
from mailbot.mailer import queue_email
from mailbot.render import Renderer
from mailbot.store import SqliteStore

log = logging.getLogger(__name__)

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
