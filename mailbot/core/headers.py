"""Read headers of untrusted mail without ever raising.

The ``email`` package raises on some malformed headers (e.g. an encoded CR/LF in a display
name); these helpers fall back to decoding the raw value themselves, and return one line.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MSGID_RE = re.compile(r"<[^<>\s]+>")
# What we can reply to: dot-atoms either side of one "@" (RFC 5322), ASCII, lower case.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[a-z0-9-]+(?:\.[a-z0-9-]+)*")


def one_line(value: str) -> str:
    """One line of text; raw 8-bit bytes (kept by the parser as surrogates) become UTF-8."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(_CONTROL_RE.sub(" ", value).split())


def header_text(msg: Message, name: str) -> str:
    """The decoded header as one line of text; "" when absent or unreadable."""
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
    raw = _raw(msg, "From") or ""
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


def referenced_ids(msg: Message) -> list[str]:
    """Message-IDs this one replies to (In-Reply-To, then References), newest last."""
    text = header_text(msg, "In-Reply-To") + " " + header_text(msg, "References")
    return list(dict.fromkeys(_MSGID_RE.findall(text)))[-20:]
