"""Read headers of untrusted mail without ever raising.

The ``email`` package raises on some malformed headers (e.g. an encoded CR/LF in a display
name); these helpers fall back to decoding the raw value themselves, and return one line.
"""

from __future__ import annotations

import email.policy
import re
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.utils import getaddresses
from functools import lru_cache
from typing import Any

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_LONGEST = 8_000
# What we can reply to: dot-atoms either side of one "@" (RFC 5322), ASCII, lower case.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[a-z0-9-]+(?:\.[a-z0-9-]+)*")


class RememberedHeaders(HeaderRegistry):
    """Parses a header once per text: classifying one message reads its Content-Type a dozen
    times, and each read would parse it again; every reply carries the same List-Id. Header
    objects are immutable; only short values are kept, in a small cache, so hostile megabytes
    of header hold no memory."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # The registry builds a new class for every header it reads (a kilobyte each, and
        # most of the time spent); one per known name, and one for all others, is enough.
        key = name.lower() if name.lower() in self.registry else ""
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if isinstance(value, str) and len(value) <= 1_000:
            return _parsed(self, name, value)
        return super().__call__(name, value)


@lru_cache(maxsize=32)
def _parsed(registry: HeaderRegistry, name: str, value: str) -> BaseHeader:
    return HeaderRegistry.__call__(registry, name, value)


# The policy every inbound message is parsed with: the default one, headers remembered.
READING = email.policy.default.clone(header_factory=RememberedHeaders())


def one_line(value: str) -> str:
    """One line of text; raw 8-bit bytes (kept by the parser as surrogates) become UTF-8."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(_CONTROL_RE.sub(" ", value).split())


def header_text(msg: Message, name: str) -> str:
    """The decoded header as one line of text; "" when absent or unreadable.

    A header longer than any honest one (8,000 characters) is read raw and cut: the email
    package's parsers take time that grows faster than its length."""
    raw = _raw(msg, name)
    if raw is not None and len(raw) > _LONGEST:
        return _decoded(raw[:_LONGEST])
    try:
        value = msg.get(name)
        if value is not None:
            return one_line(str(value))
    except Exception:  # noqa: BLE001 - the email package raises many kinds on bad headers
        pass
    raw = _raw(msg, name)
    return "" if raw is None else _decoded(raw)


def _raw(msg: Message, name: str) -> str | None:
    try:
        for key, value in msg.raw_items():  # type: ignore[attr-defined]
            if key.lower() == name.lower():
                return str(value)
    except AttributeError:
        return msg.get(name)  # a compat32 Message: values are raw already
    return None


def sender_address(msg: Message) -> tuple[str, str]:
    """(display name, lower-case address) of the first usable From address, or ("", "").

    Addresses are parsed from the raw header, before encoded words are decoded, so a display
    name that decodes to "x, Bcc: y@z" cannot smuggle in another address.
    """
    return _first_usable(_raw(msg, "From") or "")


@lru_cache(maxsize=16)  # classifying and answering one message read its From many times
def _first_usable(raw: str) -> tuple[str, str]:
    for name, address in getaddresses([one_line(raw)]):
        address = one_line(address).lower()
        # Non-ASCII addresses would need SMTPUTF8 end to end; they are treated as unusable,
        # and so is anything a reply could not be addressed to ("@example..org").
        if _ADDRESS_RE.fullmatch(address) and len(address) <= 254:
            return _decoded(name)[:80], address
    return "", ""


def _decoded(value: str) -> str:
    try:
        return one_line(str(make_header(decode_header(value))))
    except Exception:  # noqa: BLE001
        return one_line(value)


_HEADER_BYTES = 4_096  # no honest header is longer; the parsers are slower than linear past it
_MIME_BYTES = 1_024  # Content-Type and friends: their parameter parser is the slowest
_TAIL_FIRST = (b"references", b"in-reply-to")  # their newest ids are at the end


def bounded_headers(raw: bytes) -> bytes:
    """`raw` with each top-level header cut to 4 KiB (a thread's newest ids kept), so that
    no header costs the email package's parsers more than linear time. Linear itself."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    head, body = (raw, b"") if end < 0 else (raw[:end], raw[end:])
    if len(head) <= _MIME_BYTES:
        return raw
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line  # a folded continuation
        else:
            fields.append(line)
    return b"".join(_bounded_field(field) for field in fields) + body


_MAX_PART_LINES = 400  # boundary-like lines kept: a person's mail has a handful of parts


def bounded_message(raw: bytes) -> bytes:
    """`raw` with bounded headers (`bounded_headers`) and cut after 400 lines that look like
    MIME boundaries: the email package's parser takes seconds for thousands of parts and
    recurses into nested ones until Python gives up, and no person's reply has them."""
    raw = bounded_headers(raw)
    count = start = 0
    while (found := raw.find(b"\n--", start)) >= 0:
        count += 1
        if count > _MAX_PART_LINES:
            return raw[: found + 1]
        start = found + 3
    return raw


def _bounded_field(field: bytes) -> bytes:
    name, _, value = field.partition(b":")
    limit = _MIME_BYTES if name.strip().lower().startswith(b"content-") else _HEADER_BYTES
    if len(field) <= limit:
        return field
    ending = b"\r\n" if field.endswith(b"\r\n") else b"\n"
    if name.strip().lower() in _TAIL_FIRST:
        value = value[-_HEADER_BYTES:]
        value = value[value.find(b"<") :] if b"<" in value else value  # from a whole id
    else:
        value = value[:limit]
    return name + b": " + b" ".join(value.split()) + ending


MAX_IDS = 20  # a thread's newest ids are enough to find what a reply answers
_ID_TEXT = 8_000  # characters of References read, from its end (newest last)


def referenced_ids(msg: Message) -> list[str]:
    """Message-IDs this one replies to (In-Reply-To, then References), newest last.

    Read raw and bounded: the email package parses a References of 200,000 ids in minutes
    (quadratic), and a reply needs only the newest few."""
    in_reply_to = _MSGID_RE.findall(one_line((_raw(msg, "In-Reply-To") or "")[:2_000]))
    return list(dict.fromkeys(in_reply_to + _reference_ids(msg)))[-MAX_IDS:]


def references_of(msg: Message) -> str:
    """The References a reply to `msg` carries before its Message-ID: bounded likewise."""
    return " ".join(_reference_ids(msg)[-MAX_IDS:])


def _reference_ids(msg: Message) -> list[str]:
    """The ids of References, read raw from its end (newest last)."""
    return _MSGID_RE.findall(one_line((_raw(msg, "References") or "")[-_ID_TEXT:]))
