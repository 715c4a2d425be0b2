"""Decide whether an incoming message was written by a person or by a machine.

`classify` returns a `Verdict`: who sent it (a human, an auto-responder, a
bounce, an abuse feedback report, a mailing list, or the bot itself) and a
short reason for the logs. Only humans' messages should ever be acted on or
answered; everything else is logged and dropped, which is what keeps the bot
out of mail loops. When unsure, robot: a message with a robot's structure and weak
evidence is dropped, but nothing a person writes in a reply may look like one. Pure:
reads headers, MIME structure and the start of a would-be notice's text; never raises.
Marker words live in `robot_markers`, one row per language or source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses
from enum import StrEnum

from mailbot.core import robot_markers as markers
from mailbot.core.headers import header_text, sender_address
from mailbot.core.text import body_text

__all__ = ["Sender", "Verdict", "classify"]


class Sender(StrEnum):
    human = "human"
    auto_reply = "auto_reply"
    bounce = "bounce"
    feedback = "feedback"
    mailing_list = "mailing_list"
    own = "own"


@dataclass(frozen=True)
class Verdict:
    sender: Sender
    reason: str  # short, for logs, e.g. "Auto-Submitted: auto-replied"


_MAX_PARTS = 100
_MAX_TEXT = 20_000  # notices say what failed near the top; this bounds regex work on hostile text
# Compared with ".", "-" and "_" removed, so MAILER_DAEMON, Mailer.Daemon and post_master match.
_DAEMONS = {"mailerdaemon", "maildaemon", "postmaster"}
_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|mail delivery failed|returned mail"
    r"|failure notice|delivery failure|mail delivery failure|delivery has failed"
    r"|could not be delivered|non[- ]?delivery|unzustellbar|non remis|no entregado",
    re.IGNORECASE,
)


def _either(rows: tuple[tuple[str, ...], ...]) -> str:
    """One alternation of a marker table's expressions (the second-last field of each row)."""
    return "|".join(f"(?:{row[-2]})" for row in rows)


# Auto-reply subjects put a marker first and follow it with a colon; the table in
# robot_markers has one row per language, and why single away words are left out.
_AUTO_SUBJECT = re.compile(
    rf"^\s*(?:{_either(markers.AUTO_REPLY_SUBJECTS)})\s*[:：]", re.IGNORECASE
)
_MTA_NAME = re.compile(rf"(?:{_either(markers.MTA_NAMES)})(?:\s*\([^()]*\))?", re.IGNORECASE)
_FAILURE = re.compile(_either(markers.FAILURE_PHRASES), re.IGNORECASE)
_FORWARD = re.compile(rf"^[ \t]*(?:{_either(markers.FORWARD_MARKERS)})", re.I | re.M)
_QUOTED = re.compile(r"^[ \t]*>.*$", re.MULTILINE)
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_COMPLAINT_PHRASE = re.compile(_either(markers.COMPLAINT_PHRASES), re.IGNORECASE)
_COMPLAINT_WORD = re.compile(_either(markers.COMPLAINT_WORDS), re.IGNORECASE)
_ABUSE_DESK = re.compile(markers.ABUSE_DESK_LOCALS, re.IGNORECASE)
_REPORTER = re.compile(
    f"{markers.ABUSE_DESK_LOCALS}|{markers.OTHER_REPORTER_LOCALS}", re.IGNORECASE
)
_REPLY_PREFIX = re.compile(
    rf"^\s*(?:{markers.REPLY_PREFIXES})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE
)
_NO_REPLY = re.compile(r"^(?:no|do[-_.]?not)[-_.]?reply\b")
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Mail-Autoreply")
_NEGATIVE = {"no", "false", "0"}
_LIST_PRECEDENCE = {"bulk", "junk", "list"}
# List servers' own marks (Mailman 2, ezmlm, fml): people's mail clients never set them.
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post", "X-Mailman-Version", "Mailing-List",
                 "X-ML-Name", "X-MLServer")  # fmt: skip
_ORIGINAL_TYPES = {"message/rfc822", "text/rfc822-headers", "message/global",
                   "message/global-headers"}  # fmt: skip


def classify(msg: EmailMessage, own_addresses: frozenset[str]) -> Verdict:
    """Who sent `msg`; rules run in order own, bounce, feedback, auto_reply, list, human."""
    for rule in (_own, _bounce, _feedback, _auto_reply, _mailing_list):
        verdict = rule(msg, own_addresses)
        if verdict is not None:
            return verdict
    return Verdict(Sender.human, "no automation markers")


# ---- rules: each returns a Verdict or None


def _own(msg: Message, own_addresses: frozenset[str]) -> Verdict | None:
    if _has(msg, "X-Mailbot-Kind"):
        return Verdict(Sender.own, f"X-Mailbot-Kind: {_header(msg, 'X-Mailbot-Kind')}")
    own = {address.strip().lower() for address in own_addresses}
    sender = _from_address(msg)
    if sender and sender in own:
        return Verdict(Sender.own, f"From: {sender}")
    loop = _header(msg, "X-Loop").lower()
    if loop and any(address in loop for address in own):
        return Verdict(Sender.own, f"X-Loop: {loop[:60]}")
    return None


def _bounce(msg: Message, own_addresses: frozenset[str]) -> Verdict | None:
    report_type = _report_type(msg)
    if report_type == "delivery-status":
        return Verdict(Sender.bounce, "multipart/report; report-type=delivery-status")
    types = _part_types(msg)
    if report_type == "feedback-report" or "message/feedback-report" in types:
        return None  # abuse reports often come from postmaster@ too; the structure decides
    status = next((kind for kind in types if kind in _STATUS_TYPES), None)
    if status:
        return Verdict(Sender.bounce, f"{status} part")
    if _complaint(msg, types):
        return None  # the same, for reports without a report-type
    return _bounce_headers(msg, types) or _failure_notice(msg)


def _bounce_headers(msg: Message, types: list[str]) -> Verdict | None:
    if _has(msg, "X-Failed-Recipients"):
        return Verdict(Sender.bounce, "X-Failed-Recipients")
    local = _from_address(msg).partition("@")[0]
    if _squashed(local) in _DAEMONS:
        return Verdict(Sender.bounce, f"From: {local}")
    path = _return_path(msg)
    if path is None:
        return None
    if _squashed(path.partition("@")[0]) in _DAEMONS:
        return Verdict(Sender.bounce, f"Return-Path: {path}")
    subject = _header(msg, "Subject")
    if not path and _BOUNCE_SUBJECT.search(subject):
        return Verdict(Sender.bounce, f"Return-Path: <> and Subject: {subject[:60]}")
    # Vacation notices do not return the message they answer; delivery failures do.
    if not path and _ORIGINAL_TYPES.intersection(types):
        return Verdict(Sender.bounce, "Return-Path: <> and the original message attached")
    return None


def _failure_notice(msg: Message) -> Verdict | None:
    """An MTA's notice known by its text, whatever its subject says ("Re: lunch" included).

    The sender must look like an MTA (or the envelope sender be null), and the text above any
    forwarded or quoted message must say that delivery failed and name an address (or the
    message must come back attached, as Exim's does).
    """
    sender = _mta_sender(msg) or ("Return-Path: <>" if _return_path(msg) == "" else "")
    if not sender:
        return None
    text = _own_text(msg)
    failure = _FAILURE.search(text)
    if failure and (_ADDRESS.search(text) or _ORIGINAL_TYPES.intersection(_part_types(msg))):
        return Verdict(Sender.bounce, f"{sender} and {failure.group(0)[:40]!r} in the text")
    subject = _header(msg, "Subject")
    if _BOUNCE_SUBJECT.search(subject) and not _REPLY_PREFIX.match(subject):
        return Verdict(Sender.bounce, f"{sender} and Subject: {subject[:60]}")
    return None


def _feedback(msg: Message, own_addresses: frozenset[str]) -> Verdict | None:
    if _report_type(msg) == "feedback-report":
        return Verdict(Sender.feedback, "multipart/report; report-type=feedback-report")
    types = _part_types(msg)
    if "message/feedback-report" in types:
        return Verdict(Sender.feedback, "message/feedback-report part")
    reason = _complaint(msg, types)
    return Verdict(Sender.feedback, reason) if reason else None


def _complaint(msg: Message, types: list[str]) -> str:
    """Why `msg` is an abuse report without ARF's report-type, or "".

    The reported message must be attached. An abuse desk's sender is then enough; otherwise
    the subject must say complaint: a report's phrase ("Abuse report") is enough unless the
    subject reads as a person's reply or forward, while a bare word ("abuse", "spam") also
    needs a robot's sender, since a person may attach the message they complain about.
    """
    if not _ORIGINAL_TYPES.intersection(types):
        return ""
    subject = _header(msg, "Subject")[:300]
    if _BOUNCE_SUBJECT.search(subject):
        return ""  # "Undeliverable: Re: spam complaint" returns a complaint; it is a bounce
    desk = _sender_local(msg, _ABUSE_DESK)
    if desk:
        return f"{desk} and the reported message attached"
    phrase = _COMPLAINT_PHRASE.search(subject)
    if not phrase and not _COMPLAINT_WORD.search(subject):
        return ""
    reporter = _reporter(msg)
    if reporter:
        return f"{reporter}, Subject: {subject[:40]} and the reported message"
    if phrase and not _REPLY_PREFIX.match(subject):
        return f"Subject: {subject[:60]} and the reported message"
    return ""


def _auto_reply(msg: Message, own_addresses: frozenset[str]) -> Verdict | None:
    if _flagged(msg, "Auto-Submitted"):  # RFC 3834: anything but "no" is automatic
        return Verdict(Sender.auto_reply, f"Auto-Submitted: {_header(msg, 'Auto-Submitted')}")
    for name in _AUTO_HEADERS:
        if _flagged(msg, name):
            return Verdict(Sender.auto_reply, name)
    for name in ("Precedence", "X-Precedence"):
        if _token(_header(msg, name)) == "auto_reply":
            return Verdict(Sender.auto_reply, f"{name}: auto_reply")
    subject = _header(msg, "Subject")
    if _AUTO_SUBJECT.match(subject):
        return Verdict(Sender.auto_reply, f"Subject: {subject[:60]}")
    if _return_path(msg) == "":  # RFC 5321: the null sender is for automatic notices only
        return Verdict(Sender.auto_reply, "Return-Path: <>")
    if _NO_REPLY.match(_from_address(msg)):
        return Verdict(Sender.auto_reply, f"From: {_from_address(msg)}")
    return None


def _mailing_list(msg: Message, own_addresses: frozenset[str]) -> Verdict | None:
    precedence = _token(_header(msg, "Precedence"))
    if precedence in _LIST_PRECEDENCE:
        return Verdict(Sender.mailing_list, f"Precedence: {precedence}")
    for name in _LIST_HEADERS:
        if _has(msg, name):
            return Verdict(Sender.mailing_list, name)
    return None


# ---- defensive header access: malformed headers count as absent


def _has(msg: Message, name: str) -> bool:
    try:
        return name in msg
    except Exception:
        return False


def _header(msg: Message, name: str) -> str:
    """The header as text with whitespace collapsed, or "" when absent or unparsable; bounded
    (`header_text`), so a megabyte header costs no more than a normal one."""
    return header_text(msg, name)


def _flagged(msg: Message, name: str) -> bool:
    """The header is present and does not say no."""
    return _has(msg, name) and _token(_header(msg, name)) not in _NEGATIVE


def _token(value: str) -> str:
    """First word of a header value, lowercased: "auto-replied; by=x" -> "auto-replied"."""
    return value.split(";", 1)[0].strip().lower()


def _from_address(msg: Message) -> str:
    """The address a reply would go to (so we judge whom we would answer), else the first
    name in From: "From: MAILER-DAEMON" with no domain parses as a display name only."""
    usable = sender_address(msg)[1]
    if usable:
        return usable
    try:
        pairs = getaddresses([str(msg.get("From", ""))])
    except Exception:
        return ""
    addresses = [address.strip().lower() for _, address in pairs if address.strip()]
    if addresses:
        return addresses[0]
    names = [name.strip().lower() for name, _ in pairs if name.strip()]
    return names[0] if names else ""


def _return_path(msg: Message) -> str | None:
    """The envelope sender, lowercased: "" for the null path "<>", None when absent."""
    if not _has(msg, "Return-Path"):
        return None
    return _header(msg, "Return-Path").strip("<> ").lower()


def _squashed(local: str) -> str:
    """A local part without case and separators: "Mailer.Daemon" -> "mailerdaemon"."""
    return local.lower().replace(".", "").replace("-", "").replace("_", "")


def _mta_sender(msg: Message) -> str:
    """How the sender looks like an MTA ("From: Mail Delivery System"), or ""."""
    for header, address in (("From", _from_address(msg)), ("Return-Path", _return_path(msg))):
        local = (address or "").partition("@")[0]
        if _squashed(local) in markers.MTA_LOCALS:
            return f"{header}: {local}"
    name = sender_address(msg)[0].strip(" \"'")
    if name and _MTA_NAME.fullmatch(name):
        return f"From: {name[:40]}"
    return ""


def _reporter(msg: Message) -> str:
    """How the sender looks like a robot that sends reports, or ""."""
    if _return_path(msg) == "":
        return "Return-Path: <>"
    if _flagged(msg, "Auto-Submitted"):
        return "Auto-Submitted"
    return _sender_local(msg, _REPORTER)


def _sender_local(msg: Message, pattern: re.Pattern[str]) -> str:
    """Which local part matches `pattern`, From's first ("From: abuse"), or ""."""
    for header, address in (("From", _from_address(msg)), ("Return-Path", _return_path(msg))):
        local = (address or "").partition("@")[0]
        if local and pattern.search(local):
            return f"{header}: {local}"
    return ""


def _own_text(msg: Message) -> str:
    """The start of the text part, above any forwarded message and without quoted lines."""
    text = body_text(msg)[:_MAX_TEXT] if isinstance(msg, EmailMessage) else ""
    forward = _FORWARD.search(text)
    if forward:
        text = text[: forward.start()]
    return _QUOTED.sub("", text)


def _report_type(msg: Message) -> str:
    try:
        if msg.get_content_type() != "multipart/report":
            return ""
        return str(msg.get_param("report-type", "")).strip().lower()
    except Exception:
        return ""


def _part_types(msg: Message) -> list[str]:
    """Content types in the MIME tree, not entering attached messages (a human may forward one)."""
    types: list[str] = []
    stack: list[Message] = [msg]
    while stack and len(types) < _MAX_PARTS:
        part = stack.pop()
        try:
            kind = part.get_content_type()
            payload = part.get_payload() if kind.startswith("multipart/") else None
        except Exception:
            continue
        types.append(kind)
        if isinstance(payload, list):
            stack.extend(child for child in payload if isinstance(child, Message))
    return types
