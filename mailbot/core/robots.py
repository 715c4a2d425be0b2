"""Decide whether an incoming message was written by a person or by a machine.

`classify` returns a `Verdict`: who sent it (a human, an auto-responder, a
bounce, an abuse feedback report, a mailing list, or the bot itself) and a
short reason for the logs. Only humans' messages should ever be acted on or
answered; everything else is logged and dropped, which is what keeps the bot
out of mail loops. Pure: reads headers and MIME structure only, never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses
from enum import StrEnum

from mailbot.core.headers import sender_address

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
_DAEMONS = {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "postmaster",
            "post_master"}  # fmt: skip
_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|mail delivery failed|returned mail"
    r"|failure notice|delivery failure|mail delivery failure|delivery has failed"
    r"|could not be delivered|non[- ]?delivery|unzustellbar|non remis|no entregado",
    re.IGNORECASE,
)
# Auto-reply subjects put their marker first and follow it with a colon: Outlook's
# "Automatic reply" in the languages it ships, Notes' and Exchange's older "Out of office"
# words, and vacation programs' "Autoreply". A person's reply starts "Re:" instead. Single
# words a person might put first themselves ("Absence: back in May, pause me") are left out:
# a silently ignored person is worse than an auto-reply answered once (replies are capped).
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:out\s+of\s+(?:the\s+)?office(?:\s+(?:reply|notice|autoreply))?"
    r"|automatic\s+reply|auto[- ]?reply|autoresponse|auto[- ]?responder"
    r"|abwesenheitsnotiz|automatische\s+antwort"  # German
    r"|réponse\s+automatique|absence\s+du\s+bureau"  # French
    r"|respuesta\s+automática|fuera\s+de\s+la\s+oficina"  # Spanish
    r"|automatisch\s+antwoord"  # Dutch
    r"|risposta\s+automatica|fuori\s+sede"  # Italian
    r"|resposta\s+automática|fora\s+do\s+escritório"  # Portuguese
    r"|automatiskt\s+svar"  # Swedish
    r"|automatisk\s+svar|autosvar"  # Norwegian, Danish
    r"|automaattinen\s+vastaus"  # Finnish
    r"|odpowiedź\s+automatyczna|automatyczna\s+odpowiedź"  # Polish
    r"|automatická\s+odpověď"  # Czech
    r"|automatikus\s+válasz|házon\s+kívül"  # Hungarian
    r"|otomatik\s+yanıt|otomatik\s+cevap"  # Turkish
    r"|автоответ|автоматический\s+ответ"  # Russian
    r"|αυτόματη\s+απάντηση"  # Greek
    r"|自動応答|自動返信|自动回复|自動回覆)\s*[:：]",  # Japanese, Chinese
    re.IGNORECASE,
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
    if _has(msg, "X-Failed-Recipients"):
        return Verdict(Sender.bounce, "X-Failed-Recipients")
    local = _from_address(msg).partition("@")[0]
    if local in _DAEMONS:
        return Verdict(Sender.bounce, f"From: {local}")
    path = _return_path(msg)
    if path is None:
        return None
    if path.partition("@")[0] in _DAEMONS:
        return Verdict(Sender.bounce, f"Return-Path: {path}")
    subject = _header(msg, "Subject")
    if not path and _BOUNCE_SUBJECT.search(subject):
        return Verdict(Sender.bounce, f"Return-Path: <> and Subject: {subject[:60]}")
    # Vacation notices do not return the message they answer; delivery failures do.
    if not path and _ORIGINAL_TYPES.intersection(types):
        return Verdict(Sender.bounce, "Return-Path: <> and the original message attached")
    return None


def _feedback(msg: Message, own_addresses: frozenset[str]) -> Verdict | None:
    if _report_type(msg) == "feedback-report":
        return Verdict(Sender.feedback, "multipart/report; report-type=feedback-report")
    if "message/feedback-report" in _part_types(msg):
        return Verdict(Sender.feedback, "message/feedback-report part")
    return None


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
    """The header as text with whitespace collapsed, or "" when absent or unparsable."""
    try:
        value = msg.get(name)
        return "" if value is None else " ".join(str(value).split())
    except Exception:
        return ""


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
