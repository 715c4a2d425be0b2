"""Read a bounce: which addresses failed, whether for good, and which of our messages it was.

`parse_bounce` gathers what a bounce tells, in order of trust: the token of our own VERP
return path (`verp_token`), the Message-ID of our original message (attached, or quoted in
the text), the per-recipient fields of a DSN (RFC 3464), and last a careful scan of the
notice's text for failed addresses and SMTP codes, for MTAs that send no DSN (qmail, Exim,
Exchange, Gmail, ...). It does not decide whether a message is a bounce: call it for the
messages `robots.classify` calls bounces. Pure: reads the message only, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message

from mailbot.core.headers import header_text, one_line
from mailbot.core.text import body_text

__all__ = ["Bounce", "parse_bounce", "verp_token"]


@dataclass(frozen=True)
class Bounce:
    recipients: tuple[str, ...]  # lower-case addresses that failed (or were delayed)
    permanent: bool  # False for delays and 4.x.x; the caller may retry those
    status: str  # enhanced status code such as "5.1.1", or "" when the bounce gives none
    diagnostic: str  # the remote server's words, one line, for logs
    original_message_id: str  # "<id@host>" of the message that bounced, or ""
    verp: str  # token from our return path "<local>+bounces-<token>@<domain>", or ""


_MAX_PARTS = 100
_MAX_TEXT = 20_000  # notices are short; this bounds regex work on hostile bodies
_MAX_RECIPIENTS = 20
_DIAGNOSTIC_LENGTH = 200

# Headers naming the address a message was delivered to; the envelope ones first.
_DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# The bounce's own correspondents (the reporting MTA, and us): never the address that failed.
_OWN_SIDE_HEADERS = ("To", "Cc", "From", "Sender", "Reply-To", "Return-Path")
_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_SUCCESS_ACTIONS = {"delivered", "relayed", "expanded"}
_ORIGINAL_TYPES = {"message/rfc822", "message/global"}
_HEADERS_TYPES = {"text/rfc822-headers", "message/global-headers"}
_ROLE_LOCALS = {"mailer-daemon", "mailer_daemon", "postmaster", "abuse", "support", "hostmaster",
                "noreply", "no-reply"}  # fmt: skip

_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s@]+@[^<>\s]+>)", re.I | re.M)
_ENHANCED = re.compile(r"(?<![\w.])(?P<status>[245]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
_FAILURE_STATUS = re.compile(r"(?<![\w.])(?P<status>[45]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
_REPLY = re.compile(r"(?<![\w.])[45]\d\d[ -]+(?P<status>[45]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
_BASIC = re.compile(r"(?:^|(?<=[\s\[(:<]))([45][0-5]\d)(?=[\s\-\]),.;]|$)", re.M)
# Where a notice ends and the copy of the original message begins.
_ORIGINAL_STARTS = re.compile(
    r"^(?:\s*-{2,}.*\b(?:copy|original|unsent|returned|headers follow)\b"
    r"|\s*(?:original message(?: headers)?|original mail|message headers|unsent message"
    r"|returned message)\b.{0,20}$"
    r"|\s*(?:below is|included is) a copy of\b"
    r"|(?:Received|Return-Path|DKIM-Signature|X-Received|ARC-Seal|Received-SPF):)",
    re.I | re.M,
)
# Lines whose addresses are senders, message ids, or the original's recipients (all of them,
# not only the one that failed: an introduction goes to the whole group).
_NOT_RECIPIENT_LINE = re.compile(
    r"^\W*(?:from|sender|reply-to|return-path|message-id|in-reply-to|references|mail from"
    r"|original sender|original-envelope-id|x-[\w-]+|to|cc|bcc|subject|date|sent)\s*:",
    re.I,
)
_SENDER_BEFORE = re.compile(r"(?:from|sender)\s*[:=]?\s*<?\s*$", re.I)
# Warnings say so in words; a notice without them reports a final failure.
_DELAY_WORDS = re.compile(
    r"not yet been delivered|has been delayed|\bdelayed\b|will be retried|will retry"
    r"|still trying|warning message only|warning only|do not need to resend"
    r"|temporary (?:failure|error|problem)",
    re.I,
)
_DELAY_SUBJECT = re.compile(r"\b(?:delay(?:ed)?|warning)\b", re.I)
_PERMANENT_WORDS = re.compile(
    r"permanent|fatal error|given up|gave up|giving up|not going to try again", re.I
)


def parse_bounce(msg: EmailMessage, bot_address: str = "") -> Bounce:
    """What `msg` (a bounce) says failed; fields it does not tell are empty."""
    try:
        return _parse(msg, bot_address)
    except Exception:  # noqa: BLE001 - a hostile bounce must never stop the bot
        return Bounce((), False, "", "", "", "")


def verp_token(msg: Message, bot_address: str) -> str:
    """The token of our return path `<local>+bounces-<token>@<domain>` the bounce came to."""
    local, _, domain = bot_address.strip().lower().rpartition("@")
    if not local or not domain:
        return ""
    pattern = re.compile(
        rf"(?<![\w.+-]){re.escape(local)}\+bounces-([^@\s<>\"',;]+)@{re.escape(domain)}(?![\w.-])",
        re.I,
    )
    for name in _DELIVERY_HEADERS:
        for value in _header_values(msg, name):
            match = pattern.search(value)
            if match:
                return match.group(1)
    return ""


def _parse(msg: EmailMessage, bot_address: str) -> Bounce:
    verp = verp_token(msg, bot_address)
    original = _original_message_id(msg)
    notice = _notice(body_text(msg))
    # Some MTAs break the MIME of their DSN, so its fields end up in the text.
    reports = _dsn_reports(msg) or _reports(_text_blocks(notice))
    failed = [report for report in reports if report.kind]
    if reports and not failed:  # a success report: delivered, relayed or expanded
        return Bounce((), False, reports[0].status, "", original, verp)
    if not failed:
        return _from_text(msg, notice, bot_address, original, verp)
    # One bounce can hold failures and delays: report the failures, which are final.
    permanent = any(report.kind == "failed" for report in failed)
    chosen = [report for report in failed if (report.kind == "failed") == permanent]
    recipients = _unique([address for report in chosen for address in report.addresses])
    first = chosen[0]
    diagnostic = first.diagnostic or _codes(notice)[1]
    return Bounce(recipients, permanent, first.status, diagnostic, original, verp)


# ---- DSN: message/delivery-status, one block of fields per recipient


@dataclass(frozen=True)
class _Report:
    addresses: tuple[str, ...]
    kind: str  # "failed", "delayed", or "" for a success
    status: str
    diagnostic: str


def _dsn_reports(msg: Message) -> list[_Report]:
    """Reports from the first delivery-status part; later ones are in quoted messages."""
    for part in _parts(msg):
        if _content_type(part) in _STATUS_TYPES:
            return _reports(_status_blocks(part))
    return []


def _reports(blocks: Iterable[dict[str, str]]) -> list[_Report]:
    """One report per block of fields that names a recipient."""
    reports = []
    for fields in blocks:
        # Original-Recipient is the address as we sent it; Final-Recipient may be an alias.
        names = ("original-recipient", "final-recipient")
        addresses = _unique([_dsn_address(fields.get(name, "")) for name in names])
        if addresses:
            reports.append(_dsn_report(fields, addresses))
    return reports


def _dsn_report(fields: dict[str, str], addresses: tuple[str, ...]) -> _Report:
    action = fields.get("action", "").strip().lower()
    kind_of_code, semicolon, text = fields.get("diagnostic-code", "").partition(";")
    diagnostic = one_line(text if semicolon else kind_of_code)[:_DIAGNOSTIC_LENGTH]
    match = _ENHANCED.search(fields.get("status", "")) or _FAILURE_STATUS.search(diagnostic)
    status = match.group("status") if match else ""
    if action in _SUCCESS_ACTIONS or (not action and status.startswith("2")):
        kind = ""
    elif action == "delayed" or (not action and status.startswith("4")):
        kind = "delayed"
    else:
        kind = "failed"  # "failed", and non-standard words such as SendGrid's "expired"
    return _Report(addresses, kind, status, diagnostic)


def _status_blocks(part: Message) -> Iterator[dict[str, str]]:
    """Field blocks of a delivery-status part; lower-case names."""
    payload = part.get_payload()
    if isinstance(payload, str):
        yield from _text_blocks(payload)
        return
    for block in payload if isinstance(payload, list) else []:
        if not isinstance(block, Message):
            continue
        yield {name.lower(): str(value) for name, value in block.items()}
        rest = block.get_payload()
        if isinstance(rest, str) and rest.strip():  # a global DSN parses as one message
            yield from _text_blocks(rest)


def _text_blocks(text: str) -> Iterator[dict[str, str]]:
    for block in re.split(r"\r?\n[ \t]*\r?\n", text[:_MAX_TEXT]):
        fields: dict[str, str] = {}
        name = ""
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                fields[name] = value.strip()
        if fields:
            yield fields


def _dsn_address(value: str) -> str:
    """The address of a field like "rfc822; Anne@Example.org", lower-cased, or "" for none."""
    address = value.rpartition(";")[2].strip().strip("<>").lower()
    return address if _ADDRESS.fullmatch(address) else ""


# ---- the original message: attached, its headers attached, or quoted in the text


def _original_message_id(msg: Message) -> str:
    for part in _parts(msg):
        kind = _content_type(part)
        found = ""
        if kind in _ORIGINAL_TYPES:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = _first_id(header_text(inner[0], "Message-ID"))
        elif kind in _HEADERS_TYPES:
            match = _MESSAGE_ID_LINE.search(_raw_text(part))
            found = match.group(1) if match else ""
        if found:
            return found
    for part in _parts(msg):
        if _content_type(part).startswith("text/"):
            match = _MESSAGE_ID_LINE.search(_raw_text(part))
            if match:
                return match.group(1)
    return ""


def _first_id(value: str) -> str:
    match = _MESSAGE_ID.search(value)
    return match.group(0) if match else ""


# ---- text scan, for MTAs that send no DSN


def _from_text(
    msg: EmailMessage, notice: str, bot_address: str, original: str, verp: str
) -> Bounce:
    recipients = _failed_header(msg) or _scan_addresses(notice, _own_side(msg, bot_address))
    recipients = tuple(address for address in recipients if not _is_ours(address, bot_address))
    status, diagnostic = _codes(notice)
    permanent = _is_permanent(notice, header_text(msg, "Subject"), status)
    return Bounce(recipients, permanent, status, diagnostic, original, verp)


def _notice(text: str) -> str:
    """The bounce's own words: the text before the copy of the original message."""
    text = text[:_MAX_TEXT]
    match = _ORIGINAL_STARTS.search(text)
    return text[: match.start()] if match else text


def _failed_header(msg: Message) -> tuple[str, ...]:
    """Exim's X-Failed-Recipients, when present."""
    addresses = _ADDRESS.findall(header_text(msg, "X-Failed-Recipients"))
    return _unique(address.lower() for address in addresses)


def _scan_addresses(notice: str, own_side: set[str]) -> tuple[str, ...]:
    found = []
    for line in notice.splitlines():
        if _NOT_RECIPIENT_LINE.match(line):
            continue
        for match in _ADDRESS.finditer(line):
            address = match.group(0).lower().strip(".'")
            if address in own_side or address.partition("@")[0] in _ROLE_LOCALS:
                continue
            if _SENDER_BEFORE.search(line[: match.start()]):
                continue
            found.append(address)
    return _unique(found)


def _own_side(msg: Message, bot_address: str) -> set[str]:
    own = {bot_address.strip().lower()}
    for name in _OWN_SIDE_HEADERS:
        for value in _header_values(msg, name):
            own.update(address.lower() for address in _ADDRESS.findall(value))
    return own


def _is_ours(address: str, bot_address: str) -> bool:
    """The bot's address, or a return path made from it ("coffee+bounces-x@example.org")."""
    local, _, domain = bot_address.strip().lower().rpartition("@")
    their_local, _, their_domain = address.rpartition("@")
    return bool(local) and their_domain == domain and their_local.split("+")[0] == local


def _codes(notice: str) -> tuple[str, str]:
    """(enhanced status code, the words around it); a basic reply code's words when none."""
    # "550 5.1.1 User unknown" is the server's reply; a lone "5.1.1" may be a help link.
    match = _REPLY.search(notice) or _FAILURE_STATUS.search(notice)
    if match:
        return match.group("status"), _words_at(notice, match.start())
    match = _BASIC.search(notice)
    if match:
        return "", _words_at(notice, match.start())
    return "", ""


def _is_permanent(notice: str, subject: str, status: str) -> bool:
    if _DELAY_WORDS.search(notice) or _DELAY_SUBJECT.search(subject):
        return False
    if _PERMANENT_WORDS.search(notice):
        return True
    if status:
        return status.startswith("5")
    basic = _BASIC.search(notice)
    return basic is None or basic.group(1).startswith("5")


def _words_at(text: str, index: int) -> str:
    """The line around `index`; from `index` on when the whole line is too long."""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = one_line(text[start : end if end >= 0 else len(text)])
    if len(line) > _DIAGNOSTIC_LENGTH:
        line = one_line(text[index : end if end >= 0 else len(text)])
    return line[:_DIAGNOSTIC_LENGTH]


# ---- defensive access: malformed parts and headers count as absent


def _parts(msg: Message) -> Iterator[Message]:
    """Every part, attached messages included, at most `_MAX_PARTS`."""
    stack: list[Message] = [msg]
    count = 0
    while stack and count < _MAX_PARTS:
        part = stack.pop()
        count += 1
        yield part
        try:
            payload = part.get_payload()
        except Exception:  # noqa: BLE001
            continue
        if isinstance(payload, list) and _content_type(part) not in _STATUS_TYPES:
            stack.extend(reversed([child for child in payload if isinstance(child, Message)]))


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _raw_text(part: Message) -> str:
    """The part's decoded bytes as Latin-1: enough to find ASCII fields, and never fails."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        return ""
    return data[:_MAX_TEXT].decode("latin-1") if isinstance(data, bytes) else ""


def _header_values(msg: Message, name: str) -> list[str]:
    try:
        return [one_line(str(value)) for value in msg.get_all(name) or []]
    except Exception:  # noqa: BLE001
        value = header_text(msg, name)
        return [value] if value else []


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    """Non-empty addresses once each, in order, at most `_MAX_RECIPIENTS`."""
    return tuple(address for address in dict.fromkeys(addresses) if address)[:_MAX_RECIPIENTS]
