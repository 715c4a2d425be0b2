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
from email import quoprimime
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
        auto_reload=False,  # compiled once a process: a round of 100,000 stat()ed them each time
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
        # One context for the subject and the body: building it was a tenth of a follow-up.
        ctx = template.new_context(context)
        body = template.environment.concat(template.root_render_func(ctx))  # type: ignore[attr-defined]
        return Rendered(self._block(template, "subject", ctx), _tidy(body))

    def render_html(self, name: str, context: dict[str, Any]) -> str:
        """An HTML alternative (autoescaped: learnings are people's text, never markup)."""
        return self.env.get_template(f"{name}.html").render(context)

    def render_section(self, name: str, context: dict[str, Any]) -> Rendered:
        """A part of a notice: its subject and body blocks only."""
        template = self.env.get_template(f"{name}.txt")
        ctx = template.new_context(context)
        return Rendered(self._block(template, "subject", ctx),
                        _tidy("".join(template.blocks["body"](ctx))))  # fmt: skip

    @staticmethod
    def _block(template: jinja2.Template, block: str, ctx: jinja2.runtime.Context) -> str:
        """A block on one line ("" when the template has none)."""
        if block not in template.blocks:
            return ""
        return " ".join("".join(template.blocks[block](ctx)).split())


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
    return f"{_address_line('To', [to])}\r\nMessage-ID: {message_id}\r\n".encode("ascii")


def compose_bytes(envelope: Envelope, to: list[tuple[str, str]], rendered: Rendered) -> bytes:
    """``compose(...).as_bytes()``, written line by line: a round's 50,000 intros spent most
    of their time building and serialising EmailMessage objects. A header that is plain ASCII
    and fits on its line is written as it is; any other (a name to quote or encode, a long
    subject) is folded by the email package's own policy, and a non-ASCII body encoded by its
    own quoted-printable encoder. Only an HTML alternative takes the whole email package.
    ``tests/test_render.py`` holds the two ways to the same bytes."""
    text = rendered.text
    lines = text.encode("utf-8").splitlines()
    if rendered.html or not to or not envelope.message_id or any(len(x) > 998 for x in lines):
        return compose(envelope, to, rendered).as_bytes()
    bot = _one_line(envelope.bot_name)
    headers = [_address_line("From", [(bot, envelope.bot_address)]), _address_line("To", to),
               _line("Subject", _one_line(rendered.subject)),
               _line("Date", format_datetime(envelope.date)),
               _line("Message-ID", envelope.message_id)]  # fmt: skip
    if envelope.in_reply_to:
        headers.append(_line("In-Reply-To", _one_line(envelope.in_reply_to)))
        references = _one_line(f"{envelope.references} {envelope.in_reply_to}")
        headers.append(_line("References", references))
    if envelope.reply_to:
        headers.append(_address_line("Reply-To", envelope.reply_to))
    unsubscribe = envelope.unsubscribe.replace(" ", "%20")
    address = envelope.bot_address
    headers += [_line("Auto-Submitted", envelope.auto_submitted),
                "X-Auto-Response-Suppress: All",
                _line("List-Id", f"{bot} <{address.replace('@', '.')}>"),
                _line("List-Unsubscribe", f"<mailto:{address}?subject={unsubscribe}>"),
                _line("List-Help", f"<mailto:{address}?subject=help>"),
                _line("X-Mailbot-Kind", envelope.kind),
                'Content-Type: text/plain; charset="utf-8"']  # fmt: skip
    if text.isascii():
        headers += ["Content-Transfer-Encoding: 7bit", "MIME-Version: 1.0", "", ""]
        return "\r\n".join(headers).encode("ascii") + b"".join(x + b"\r\n" for x in lines)
    # As the email package's content manager does: lines joined by LF, then its encoder.
    encoded = quoprimime.body_encode(b"\n".join([*lines, b""]).decode("latin-1"), 78)
    headers += ["Content-Transfer-Encoding: quoted-printable", "MIME-Version: 1.0", "", ""]
    body = encoded.replace("\n", "\r\n") + ("" if encoded.endswith("\n") else "\r\n")
    return ("\r\n".join(headers) + body).encode("ascii")


def _line(name: str, value: Any) -> str:
    """One header as the SMTP policy writes it: as it is when ASCII and short enough."""
    if isinstance(value, str) and value.isascii() and len(name) + 2 + len(value) <= 78:
        return f"{name}: {value}" if value else f"{name}:"
    folded = POLICY.fold_binary(name, POLICY.header_factory(name, value))
    return folded.decode("ascii").removesuffix("\r\n")


def _address_line(name: str, pairs: Iterable[tuple[str, str]]) -> str:
    """Addresses one a line, as `_SmtpPolicy` folds a list (each address folded alone)."""
    pairs = list(pairs)
    if len(pairs) == 1:  # folded as a whole: a long one may break right after the name
        return _one_address(name, *pairs[0], alone=True)
    return f"{name}: " + ",\r\n ".join(_one_address(name, *pair) for pair in pairs)


@lru_cache(maxsize=256)  # an intro names each person twice: To and Reply-To
def _one_address(name: str, display: str, address: str, alone: bool = False) -> str:
    display = _one_line(display)
    if _PLAIN_NAME_RE.fullmatch(display) and address.isascii():
        plain = f"{display} <{address}>" if display else address
        if len(name) + 2 + len(plain) <= 78:
            return f"{name}: {plain}" if alone else plain
    header = POLICY.header_factory(name, [Address(display_name=display, addr_spec=address)])
    folded = email.policy.EmailPolicy.fold(POLICY, name, header)
    return folded.removesuffix("\r\n") if alone else folded[len(name) + 1 :].strip()


def _addresses(pairs: Iterable[tuple[str, str]]) -> list[Address]:
    return [Address(display_name=_one_line(name), addr_spec=addr) for name, addr in pairs]


def _one_line(value: str) -> str:
    """Text safe in a header: one line, no control characters, and no encoded-word syntax,
    which the email package decodes again when it writes the header, so "=?utf-8?q?=0D=0A
    Bcc:...?=" would become a real line break (CVE-2024-6923; fixed only in Python 3.11.10)."""
    return " ".join(_CONTROL_RE.sub(" ", str(value)).split()).replace("=?", "= ?")
