"""The last check before a learning can be published: nothing private goes out unseen.

Extraction removes signatures, but no reader is perfect. `check_learning` looks at the text a
digest would print and finds what must never be published without a person's decision: a
phone number, a person's email address, a link or handle that was in the writer's signature,
and, when the writer asked to be anonymous, their name (first or last, accents and case
aside, also inside a handle or a link) or a short last line that may be a nickname. Contact
lines at the very end (after the last line of prose) are clearly signature and are taken out;
anything else of that kind holds the learning for an organiser, with the reason. It never
publishes a doubt silently. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mailbot.core.reader import (
    EMAIL_ADDRESS,
    HANDLE,
    LINK,
    PHONE,
    is_contact_line,
    name_keys,
    tidy,
)

__all__ = ["Gate", "check_learning"]

# Dates and year ranges are digits too: "2024/06/03", "03.06.2024", "2019-2024".
_NOT_A_PHONE = re.compile(
    r"^\d{1,4}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{1,4}$|^(?:19|20)\d{2}\s*[-–/]\s*(?:19|20)\d{2}$"
)
_SENTENCE_END = re.compile(r"[.!?。！？:]\s*$")


@dataclass(frozen=True)
class Gate:
    text: str  # what may be published (trailing contact lines taken out)
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

    `names` are the writer's (From display name, profile name, the address's local part);
    `signature` the lines the reader removed; `allowed` addresses that may appear (the bot's).
    """
    own = {address.lower() for address in allowed}
    from_signature = _tokens("\n".join(signature))
    words = _name_words(names) if anonymous else set()
    lines = text.split("\n")
    last_prose = max((i for i, line in enumerate(lines) if _prose(line)), default=-1)
    kept: list[str] = []
    stripped: list[str] = []
    reasons: list[str] = []
    for index, line in enumerate(lines):
        found = _private(line, own, from_signature, words)
        if found and index > last_prose and is_contact_line(line):
            stripped.append(line.strip())  # contact lines after the last prose: a signature
            continue
        kept.append(line)
        reasons.extend(reason for reason in found if reason not in reasons)
    if anonymous and _short_last_line(kept, last_prose):
        reasons.append("ends with a short line that may name a writer who asked to be anonymous")
    return Gate(tidy([line.rstrip() for line in kept]), "; ".join(reasons), tuple(stripped))


def _private(line: str, own: set[str], from_signature: set[str], words: set[str]) -> list[str]:
    """Why `line` may not be published as it is (empty when it may)."""
    found = []
    if any(not _NOT_A_PHONE.match(hit.strip()) for hit in PHONE.findall(line)):
        found.append("holds a phone number")
    if any(hit.lower() not in own for hit in EMAIL_ADDRESS.findall(line)):
        found.append("holds an email address")
    if _tokens(line) & from_signature:
        found.append("holds a link or handle from the writer's signature")
    if words and _names_writer(line, words):
        found.append("names a writer who asked to be anonymous")
    return found


def _names_writer(line: str, words: set[str]) -> bool:
    """A word of the line is one of the writer's names, begins with one ("Annette" for
    "Anne"), is a short form of one ("Ann"), or a capitalised look-alike ("Annie" for "Anne":
    the same first three letters, a letter or two apart); or one of them is spelt inside a
    handle or a link ("@anneperson")."""
    for original in re.findall(r"\w+", line):
        token = _plain(original)
        for name in words:
            if token == name or (len(name) >= 3 and token.startswith(name)):
                return True
            if len(token) >= 3 and name.startswith(token) and len(name) - len(token) <= 2:
                return True
            if (original[:1].isupper() and len(name) >= 3 and token[:3] == name[:3]
                    and abs(len(token) - len(name)) <= 2):  # fmt: skip
                return True
    links = " ".join(_plain(t) for t in _tokens(line))
    return any(len(name) >= 4 and name in links for name in words)


def _short_last_line(lines: list[str], last_prose: int) -> bool:
    """After the last sentence, a short line of a few words: "Annie", "Sian :)", "-- AB"."""
    tail = [line.strip() for line in lines[last_prose + 1 :] if line.strip()]
    return any(len(line.split()) <= 6 for line in tail)


def _prose(line: str) -> bool:
    """A line of the learning itself: a sentence, or more than four words."""
    stripped = line.strip()
    return bool(stripped) and (bool(_SENTENCE_END.search(stripped)) or len(stripped.split()) > 4)


def _plain(text: str) -> str:
    """Lower case without accents: "Siân" and "sian" are the same name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _tokens(text: str) -> set[str]:
    """Links and handles in `text`, normalised for comparison."""
    links = {url.lower().rstrip(".,;:!?").removeprefix("https://").removeprefix("http://")
             for url in LINK.findall(text)}  # fmt: skip
    return links | {handle.lower() for handle in HANDLE.findall(text)}


def _name_words(names: Iterable[str]) -> set[str]:
    """Each word of the writer's names, long enough not to be an initial."""
    words: set[str] = set()
    for name in name_keys(names):
        words.update(word for word in re.findall(r"\w+", _plain(name)) if len(word) >= 2)
    return words
