"""The jinja2 edge: render every email from a template, then wrap it in proper headers.

A template has a ``subject`` block and a body. Plain-text templates are not autoescaped (they
are plain text); ``.html`` templates are. Undefined names fail loudly (StrictUndefined).
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from mailbot.core.commands import Usage, audience_of, usages_for
from mailbot.core.headers import RememberedHeaders

PACKAGE_TEMPLATES = Path(str(files("mailbot.templates")))
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class _SmtpPolicy(email.policy.EmailPolicy):
    """The SMTP policy, but an address list is folded one address at a time.

    Python before 3.12.5 can fold the comma after a long non-ASCII name into an encoded word
    ("=?utf-8?q?=2C?="), which turns two recipients into one for every mail client.
    """

    def fold(self, name: str, value: Any) -> str:
        if _plain_subject(name, value, self.max_line_length or 78):
            return _fold_at_spaces(name, str(value), self.max_line_length or 78) + self.linesep
        addresses = getattr(value, "addresses", ())
        if len(addresses) < 2:
            return super().fold(name, value)
        fold_one = super().fold
        one_each = [fold_one(name, self.header_factory(name, [a])) for a in addresses]
        values = [folded[len(name) + 1 :].strip() for folded in one_each]
        return f"{name}: " + f",{self.linesep} ".join(values) + self.linesep

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, str) and len(value) <= 1_000:
            return _folded(self, name, value)  # most headers are the same in every email
        return self._fold_binary(name, value)

    def _fold_binary(self, name: str, value: Any) -> bytes:
        if _plain_subject(name, value, self.max_line_length or 78):
            return self.fold(name, value).encode("ascii")
        if len(getattr(value, "addresses", ())) < 2:
            return super().fold_binary(name, value)
        return self.fold(name, value).encode("ascii")


@lru_cache(maxsize=32)
def _folded(policy: _SmtpPolicy, name: str, value: Any) -> bytes:
    """A header folded once per text: a header object parsed from the same text folds the
    same way (it is a str, so the cache compares the text)."""
    return policy._fold_binary(name, value)


def _plain_subject(name: str, value: Any, width: int) -> bool:
    """A long ASCII Subject: the email package folds it right after "Subject:" (the value
    then starts with a space in every client); we fold it at the spaces instead."""
    text = str(value)
    return (name.lower() == "subject" and text.isascii() and len(name) + 2 + len(text) > width
            and not any(c in text for c in "\r\n") and "=?" not in text
            and max(map(len, text.split(" "))) < 900)  # fmt: skip


def _fold_at_spaces(name: str, text: str, width: int) -> str:
    lines = [f"{name}:"]
    for word in text.split(" "):
        if len(lines[-1]) + 1 + len(word) > width and lines[-1].strip() not in ("", f"{name}:"):
            lines.append("")
        lines[-1] += " " + word
    return "\r\n".join(lines)


POLICY = _SmtpPolicy(linesep="\r\n", max_line_length=78, header_factory=RememberedHeaders())


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str = ""  # an HTML alternative, when the email has one


def make_environment(extra_dir: Path | None = None) -> jinja2.Environment:
    dirs = [str(extra_dir)] if extra_dir else []
    dirs.append(str(PACKAGE_TEMPLATES))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["commands_for"] = commands_for
    return env


def commands_for(member: dict[str, Any]) -> list[Usage]:
    """The commands the help shows this reader (a member view, as templates get it)."""
    return usages_for(audience_of(member["state"], bool(member.get("pairing"))))


class Renderer:
    def __init__(self, extra_dir: Path | None = None):
        self.env = make_environment(extra_dir)

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        """A whole email: its subject block, and the template (with its layout) as body."""
        template = self.env.get_template(f"{name}.txt")
        return Rendered(self._block(template, "subject", context), _tidy(template.render(context)))

    def render_html(self, name: str, context: dict[str, Any]) -> str:
        """An HTML alternative (autoescaped: learnings are people's text, never markup)."""
        return self.env.get_template(f"{name}.html").render(context)

    def render_section(self, name: str, context: dict[str, Any]) -> Rendered:
        """A part of a notice: its subject and body blocks only."""
        template = self.env.get_template(f"{name}.txt")
        return Rendered(
            self._block(template, "subject", context),
            _tidy("".join(template.blocks["body"](template.new_context(context)))),
        )

    @staticmethod
    def _block(template: jinja2.Template, block: str, context: dict[str, Any]) -> str:
        if block not in template.blocks:
            return ""
        text = "".join(template.blocks[block](template.new_context(context)))
        return " ".join(text.split())


def _tidy(text: str) -> str:
    lines = [line.rstrip() if line != "-- " else line for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


@dataclass(frozen=True)
class Envelope:
    """What every outgoing message carries besides its text."""

    bot_name: str
    bot_address: str
    kind: str
    message_id: str
    date: datetime
    auto_submitted: str = "auto-replied"
    in_reply_to: str = ""
    references: str = ""
    reply_to: tuple[tuple[str, str], ...] = ()  # intros: replies go to the group, not to us
    unsubscribe: str = "leave"  # the command List-Unsubscribe sends


def compose(envelope: Envelope, to: list[tuple[str, str]], rendered: Rendered) -> EmailMessage:
    """An EmailMessage with the list and robot headers; names never break a header."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = Address(display_name=_one_line(envelope.bot_name), addr_spec=envelope.bot_address)
    if to:  # without: a body shared by many, each copy's To comes from `personal_lines`
        msg["To"] = _addresses(to)
    msg["Subject"] = _one_line(rendered.subject)
    msg["Date"] = format_datetime(envelope.date)
    if envelope.message_id:
        msg["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        msg["In-Reply-To"] = _one_line(envelope.in_reply_to)
        msg["References"] = _one_line(f"{envelope.references} {envelope.in_reply_to}")
    if envelope.reply_to:
        msg["Reply-To"] = _addresses(envelope.reply_to)
    msg["Auto-Submitted"] = envelope.auto_submitted
    # Asks Exchange/Outlook not to send out-of-office replies back to us (loop prevention).
    msg["X-Auto-Response-Suppress"] = "All"
    msg["List-Id"] = f"{_one_line(envelope.bot_name)} <{envelope.bot_address.replace('@', '.')}>"
    msg["List-Unsubscribe"] = (
        f"<mailto:{envelope.bot_address}?subject={envelope.unsubscribe.replace(' ', '%20')}>"
    )
    msg["List-Help"] = f"<mailto:{envelope.bot_address}?subject=help>"
    msg["X-Mailbot-Kind"] = envelope.kind
    msg.set_content(
        rendered.text, cte="quoted-printable" if not rendered.text.isascii() else "7bit"
    )
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return msg


_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")


def personal_lines(to: tuple[str, str], message_id: str) -> bytes:
    """The To and Message-ID lines of one reader's copy of a shared body (`compose` with no
    `to` and no Message-ID). A plain ASCII name that fits on the line is written as it is;
    any other goes through the email package, which quotes and encodes it."""
    name, address = _one_line(to[0]), to[1]
    line = f"To: {name} <{address}>" if name else f"To: {address}"
    if not (_PLAIN_NAME_RE.fullmatch(name) and address.isascii() and len(line) <= 78):
        msg = EmailMessage(policy=POLICY)
        msg["To"] = _addresses([to])
        return POLICY.fold_binary("To", msg["To"]) + f"Message-ID: {message_id}\r\n".encode()
    return f"{line}\r\nMessage-ID: {message_id}\r\n".encode()


def compose_bytes(envelope: Envelope, to: list[tuple[str, str]], rendered: Rendered) -> bytes:
    """``compose(...).as_bytes()``, written directly when every part is plain: a round's
    50,000 intros spent most of their time in the email package. Anything it would quote,
    encode or fold (a non-ASCII name, a long line, an HTML part) goes through the email
    package; ``tests/test_render.py`` holds the two to the same bytes."""
    plain = _plain_bytes(envelope, to, rendered)
    return plain if plain is not None else compose(envelope, to, rendered).as_bytes()


def _plain_bytes(envelope: Envelope, to: list[tuple[str, str]], rendered: Rendered
                 ) -> bytes | None:  # fmt: skip
    text = rendered.text
    if rendered.html or not text.isascii() or not to or not envelope.message_id:
        return None
    lines = text.encode("ascii").splitlines()
    if any(len(line) > 998 for line in lines):
        return None
    subject = _one_line(rendered.subject)
    bot = _one_line(envelope.bot_name)
    headers = [_address_line("From", [(bot, envelope.bot_address)]), _address_line("To", to),
               _subject_line(subject), f"Date: {format_datetime(envelope.date)}",
               f"Message-ID: {envelope.message_id}"]  # fmt: skip
    if envelope.in_reply_to:
        headers.append(f"In-Reply-To: {_one_line(envelope.in_reply_to)}")
        headers.append(f"References: {_one_line(f'{envelope.references} {envelope.in_reply_to}')}")
    if envelope.reply_to:
        headers.append(_address_line("Reply-To", envelope.reply_to))
    unsubscribe = envelope.unsubscribe.replace(" ", "%20")
    headers += [f"Auto-Submitted: {envelope.auto_submitted}", "X-Auto-Response-Suppress: All",
                f"List-Id: {bot} <{envelope.bot_address.replace('@', '.')}>",
                f"List-Unsubscribe: <mailto:{envelope.bot_address}?subject={unsubscribe}>",
                f"List-Help: <mailto:{envelope.bot_address}?subject=help>",
                f"X-Mailbot-Kind: {envelope.kind}", 'Content-Type: text/plain; charset="utf-8"',
                "Content-Transfer-Encoding: 7bit", "MIME-Version: 1.0"]  # fmt: skip
    head = "\r\n".join(headers)
    if "\x00" in head or not head.isascii() or any(
        len(line) > 78 for line in head.split("\r\n")
    ):
        return None
    return (head + "\r\n\r\n").encode("ascii") + b"".join(line + b"\r\n" for line in lines)


def _address_line(name: str, pairs: Iterable[tuple[str, str]]) -> str:
    """One address a line, as `_SmtpPolicy` folds a list; "\x00" when a name needs quoting."""
    values = []
    for display, address in pairs:
        display = _one_line(display)
        if not (_PLAIN_NAME_RE.fullmatch(display) and address.isascii()):
            return "\x00"
        values.append(f"{display} <{address}>" if display else address)
    return f"{name}: " + ",\r\n ".join(values)


def _subject_line(subject: str) -> str:
    if subject and len(subject) + 9 <= 78:
        return f"Subject: {subject}"
    if subject and _plain_subject("Subject", subject, 78):
        return _fold_at_spaces("Subject", subject, 78)
    return "\x00"


def _addresses(pairs: Iterable[tuple[str, str]]) -> list[Address]:
    return [Address(display_name=_one_line(name), addr_spec=addr) for name, addr in pairs]


def _one_line(value: str) -> str:
    """Text safe in a header: one line, no control characters, and no encoded-word syntax,
    which the email package decodes again when it writes the header, so "=?utf-8?q?=0D=0A
    Bcc:...?=" would become a real line break (CVE-2024-6923; fixed only in Python 3.11.10)."""
    return " ".join(_CONTROL_RE.sub(" ", str(value)).split()).replace("=?", "= ?")
