"""Answers to people's own mail: one email per message, composed from templates, under the
reply limits.

Every reply mailbot sends to a person goes through `Answers.queue`: the daily reply cap
(answers to their own mail only; the last one says so), the help and confirmation caps and
the joins-per-hour budget all live here, and a withheld answer returns the reason that is
stored and shown by `mailbot export`.
"""

from __future__ import annotations

import base64
import logging
import secrets
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from mailbot.clock import Clock
from mailbot.config import Config
from mailbot.core.commands import Command, Verb
from mailbot.core.membership import Member, Outcome, view
from mailbot.mailer import queue_email
from mailbot.render import Rendered, Renderer
from mailbot.store import SqliteStore

log = logging.getLogger("mailbot.service")  # the log lines organisers know, unchanged

TOKEN_DAYS = 7


def new_token() -> str:
    """120 random bits, lower-case base32: easy to read aloud, impossible to guess."""
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()


@dataclass
class Answer:
    outcome: Outcome
    command: Command
    member: Member | None
    held: tuple[Command, ...] = ()  # with outcome "confirm_action": what waits for the owner


class Answers:
    def __init__(self, config: Config, store: SqliteStore, renderer: Renderer, clock: Clock,
                 make_token: Callable[[], str] = new_token):  # fmt: skip
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.make_token = make_token

    def action_confirmation(self, key: str, sender: str, reply: Answer,
                             asked: tuple[str, list[str]], reply_to: tuple[str, str],
                             now: datetime, extra: dict[str, Any]) -> str:  # fmt: skip
        """Ask the owner of the address, once, to confirm the changes held in `reply`."""
        day = now - timedelta(days=1)
        if (
            self.store.mail_count(sender, day, ("confirm", "confirm-action"))
            >= self.config.limits.confirmations_per_day
        ):
            return withheld("confirmations_per_day", self.config.limits.confirmations_per_day)
        subject, lines = asked
        verbs = sorted({c.verb.value for c in reply.held})
        token, message_id, expires = self.new_code(
            sender, now, {"subject": subject, "lines": lines, "verbs": verbs}
        )
        context = self.context(
            reply.member, sender, now, token=token,
            changes=[c.text or c.verb.value for c in reply.held],
            forget=any(c.verb == Verb.forget for c in reply.held),
            expires=expires, **extra,
        )  # fmt: skip
        rendered = self.renderer.render("confirm_action", context)
        return self.queue(f"{key}:confirm-action", "confirm", "confirm-action", sender,
                          reply.member, rendered, reply_to, now, message_id)  # fmt: skip

    def reply(
        self,
        key: str,
        sender: str,
        replies: list[Answer],
        footnotes: list[str],
        reply_to: tuple[str, str],
        now: datetime,
        asked: tuple[str, list[str]] = ("", []),
    ) -> str:
        """One email per inbound message: the answers to other commands ride along in a
        confirmation or welcome email when there is one, else they make one notice."""
        done: list[str] = []
        final = replies[-1].member
        mains = [r for r in replies if r.outcome.reply in ("confirm", "welcome", "confirm_action")]
        sections = [
            (
                r.outcome.reply,
                {
                    "command": r.command.text,
                    "detail": r.outcome.detail,
                    "profile_changed": bool(r.outcome.profile) and r.outcome.state is not None,
                    "target": r.command.target or "",
                    "member": view(r.member, sender),
                },
            )
            for r in replies
            if r not in mains
        ]
        if not mains:
            if sections:
                done.append(self.notice(key, sender, final, sections, footnotes, reply_to, now))
            return ", ".join(done) or "no reply"
        also = [
            self.renderer.render_section(
                name, {**self.context(final, sender, now), **extra}
            ).text.strip()
            for name, extra in sections
        ]
        for n, r in enumerate(mains):
            extra: dict[str, Any] = {"also": also, "footnotes": footnotes} if n == 0 else {}
            if r.outcome.reply == "confirm_action":
                done.append(self.action_confirmation(key, sender, r, asked, reply_to, now,
                                                     extra))  # fmt: skip
            elif r.outcome.reply == "confirm":
                done.append(
                    self.confirmation(key, sender, r.member, r.outcome, reply_to, now, extra=extra)
                )
            else:
                done.append(self.single(key, "welcome", sender, r.member, reply_to, now, **extra))
        return ", ".join(done)

    def confirmation(
        self,
        key: str,
        sender: str,
        member: Member | None,
        outcome: Outcome,
        reply_to: tuple[str, str],
        now: datetime,
        imported: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> str:
        day = now - timedelta(days=1)
        if (
            self.store.mail_count(sender, day, ("confirm",))
            >= self.config.limits.confirmations_per_day
        ):
            return withheld("confirmations_per_day", self.config.limits.confirmations_per_day)
        if not imported and self.store.topic_count("confirm", now - timedelta(hours=1)) >= (
            self.config.limits.joins_per_hour
        ):  # an organiser's import is not a flood
            log.warning("joins_per_hour reached: no confirmation to %s this hour", sender)
            return withheld("joins_per_hour", self.config.limits.joins_per_hour, "everyone")
        token, message_id, expires = self.new_code(sender, now)
        context = self.context(
            member,
            sender,
            now,
            token=token,
            imported=imported,
            detail=outcome.detail,
            expires=expires,
            **(extra or {}),
        )
        rendered = self.renderer.render("confirm", context)
        return self.queue(
            f"{key}:confirm",
            "confirm",
            "confirm",
            sender,
            member,
            rendered,
            reply_to,
            now,
            message_id,
            reply=not imported,
        )

    def new_code(self, sender: str, now: datetime,
                  action: dict[str, Any] | None = None) -> tuple[str, str, str]:  # fmt: skip
        """A confirmation code for `sender` (with the held change it confirms, if any): the
        code, the Message-ID of the email that carries it, and when it expires, as shown."""
        token = self.make_token()
        message_id = self.message_id("confirm")
        expires = now + timedelta(days=TOKEN_DAYS)
        self.store.add_token(token, sender, message_id, now, expires, action=action)
        return token, message_id, expires.astimezone(self.config.tz).strftime(
            "%A %-d %B %Y, %H:%M %Z"
        )

    def single(
        self,
        key: str,
        name: str,
        sender: str,
        member: Member | None,
        reply_to: tuple[str, str],
        now: datetime,
        **extra: Any,
    ) -> str:
        rendered = self.renderer.render(name, self.context(member, sender, now, **extra))
        return self.queue(f"{key}:{name}", name, name, sender, member, rendered, reply_to, now)

    def notice(
        self,
        key: str,
        sender: str,
        member: Member | None,
        sections: list[tuple[str, dict[str, Any]]],
        footnotes: list[str],
        reply_to: tuple[str, str],
        now: datetime,
        topic: str = "notice",
        reply: bool = True,
        footer: str = "",
    ) -> str:
        """One notice email of these sections: "notice", or why it was withheld."""
        if topic == "notice/unknown":
            help_count = self.store.mail_count(sender, now - timedelta(days=1), (topic,))
            if help_count >= self.config.limits.help_per_day:
                return withheld("help_per_day", self.config.limits.help_per_day)
        parts = [
            self.renderer.render_section(name, {**self.context(member, sender, now), **extra})
            for name, extra in sections
        ]
        subject = parts[0].subject if len(parts) == 1 else f"{self.config.bot.name}: your requests"
        context = self.context(
            member,
            sender,
            now,
            sections=[p.text.strip() for p in parts],
            footnotes=footnotes,
            footer=footer,
        )
        body = self.renderer.render("notice", context)
        return self.queue(
            f"{key}:notice",
            "notice",
            topic,
            sender,
            member,
            Rendered(subject, body.text),
            reply_to,
            now,
            reply=reply,
        )

    def queue(
        self,
        key: str,
        kind: str,
        topic: str,
        sender: str,
        member: Member | None,
        rendered: Rendered,
        reply_to: tuple[str, str],
        now: datetime,
        message_id: str = "",
        auto: str = "auto-replied",
        reply: bool = True,
    ) -> str:
        """Queue one email to `sender`: its kind, or why it was withheld. Only answers to
        people's own mail (`reply`) count against, and are stopped by, the daily reply cap."""
        cap = self.config.limits.replies_per_day
        sent = self.store.mail_count(sender, now - timedelta(days=1), replies=True) if reply else 0
        if reply and sent >= cap:
            log.warning("not replying to %s: %s replies in the last day already", sender, cap)
            return withheld("replies_per_day", cap)
        if reply and sent == cap - 1:  # the last answer today says so, or silence looks broken
            rendered = _with_note(rendered, LAST_REPLY_NOTE.format(cap=cap))
        queue_email(
            self.store,
            self.config.bot,
            key,
            kind,
            [(member.name if member else "", sender)],
            rendered,
            now,
            topic=topic,
            message_id=message_id,
            auto_submitted=auto,
            in_reply_to=reply_to[0],
            references=reply_to[1],
            reply=reply,
        )
        return kind

    def message_id(self, kind: str) -> str:
        return make_msgid(idstring=kind, domain=self.config.bot.domain)

    def context(
        self, member: Member | None, sender: str, now: datetime, **extra: Any
    ) -> dict[str, Any]:
        today = self.config.local_date(now)
        context: dict[str, Any] = {
            "bot": self.config.bot.view,
            "member": view(member, sender),
            "example_date": (today + timedelta(days=30)).isoformat(),
            "detail": "",
            "command": "",
            "unknown": [],
            "profile_changed": False,
            "automatic": False,
            "imported": False,
            "target": "",
            "sections": [],
            "footnotes": [],
            "also": [],  # answers to the other commands in the same email
            "footer": "",  # "admin": the closing line for an organiser
        }
        context.update(extra)
        return context



LAST_REPLY_NOTE = (
    "(That makes {cap} replies to you today, the most I send to one address in a day. I'll "
    "still act on what you send, but I won't answer again until tomorrow.)"
)


def _with_note(rendered: Rendered, note: str) -> Rendered:
    """The note at the end of the text, above the signature."""
    body, sep, signature = rendered.text.rpartition("\n-- \n")
    if not sep:
        body, signature = rendered.text.rstrip("\n"), ""
    wrapped = textwrap.fill(note, 90)
    text = f"{body.rstrip()}\n\n{wrapped}\n{sep}{signature}" if sep else f"{body}\n\n{wrapped}\n"
    return replace(rendered, text=text)


def withheld(limit: str, count: int, whom: str = "this address") -> str:
    """The outcome stored (and shown by `mailbot export`) when a limit stops a reply."""
    window = "hour" if limit.endswith("_per_hour") else "day"
    return f"reply withheld: {count} to {whom} in the last {window} ([limits] {limit})"
