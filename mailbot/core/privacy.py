"""The last check before a learning can be published: nothing private goes out unseen.

Extraction removes signatures, but no reader is perfect. `check_learning` looks at the text a
digest would print and finds what must never be published without a person's decision: a
phone number, a person's email address, a link or handle that was in the writer's signature,
and, when the writer asked to be anonymous, their first or last name. A line that is clearly
signature (a contact line, a link or handle line from the signature, the writer's name alone)
is taken out; anything else of that kind holds the learning for an organiser, with the reason.
It never publishes a doubt silently. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailbot.core.reader import first_names, is_contact_line

__all__ = ["Gate", "check_learning"]

_PHONE = re.compile(r"(?<![\w/.-])(?:\+|00)?\d(?:[\s().-]{0,3}\d){8,14}(?![\w/])")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]]+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{2,30}(?![\w@.])")
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


@dataclass(frozen=True)
class Gate:
    text: str  # what may be published (clear signature lines taken out)
    held: str  # "" when it may go out; else why an organiser must read it first
    stripped: tuple[str, ...] = ()  # the lines taken out


def check_learning(
    text: str,
    *,
    names: Iterable[str] = (),
    anonymous: bool = False,
    signature: Iterable[str] = (),
    allowed: Iterable[str] = (),
) -> Gate:
    """Check `text` before publishing.

    `names` are the writer's (From display name, profile name); `signature` the lines the
    reader removed as their signature; `allowed` addresses that may appear (the bot's own).
    """
    own = {address.lower() for address in allowed}
    from_signature = _tokens("\n".join(signature))
    words = _name_words(names) if anonymous else set()
    kept: list[str] = []
    stripped: list[str] = []
    reasons: list[str] = []
    for line in text.split("\n"):
        found = _private(line, own, from_signature, words)
        if not found:
            kept.append(line)
        elif _clearly_signature(line, from_signature, words):
            stripped.append(line.strip())
        else:
            kept.append(line)
            reasons.extend(reason for reason in found if reason not in reasons)
    result = _trim_blank(kept)
    return Gate(result, "; ".join(reasons), tuple(stripped))


def _private(line: str, own: set[str], from_signature: set[str], words: set[str]) -> list[str]:
    """Why `line` may not be published as it is (empty when it may)."""
    found = []
    if any(not _DATE_LIKE.match(hit.strip()) for hit in _PHONE.findall(line)):
        found.append("holds a phone number")
    if any(hit.lower() not in own for hit in _EMAIL.findall(line)):
        found.append("holds an email address")
    tokens = _tokens(line)
    if tokens & from_signature:
        found.append("holds a link or handle from the writer's signature")
    if words and words & {word.lower() for word in re.findall(r"\w+", line)}:
        found.append("names a writer who asked to be anonymous")
    return found


def _clearly_signature(line: str, from_signature: set[str], words: set[str]) -> bool:
    """A contact line, a line of nothing but links and handles, or the writer's name alone."""
    stripped = line.strip()
    if is_contact_line(stripped) and len(stripped.split()) <= 8:
        return True
    rest = _URL.sub("", _HANDLE.sub("", _EMAIL.sub("", _PHONE.sub("", stripped))))
    if not re.sub(r"[\W_]+", "", rest):
        return True
    name_only = {word.lower() for word in re.findall(r"\w+", stripped)}
    return bool(words) and name_only <= words | {"x", "xx"}


def _tokens(text: str) -> set[str]:
    """Links and handles in `text`, normalised for comparison."""
    links = {url.lower().rstrip(".,;:!?").removeprefix("https://").removeprefix("http://")
             for url in _URL.findall(text)}  # fmt: skip
    return links | {handle.lower() for handle in _HANDLE.findall(text)}


def _name_words(names: Iterable[str]) -> set[str]:
    """Each word of the writer's names, long enough not to be an initial."""
    words: set[str] = set()
    for name in first_names(names):
        words.update(word for word in re.findall(r"\w+", name) if len(word) >= 2)
    return words


def _trim_blank(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out).strip()
