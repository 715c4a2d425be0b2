"""What a reply to a follow-up says: did the group meet, what was learned, who may read it.

Short answers are outcomes, not learnings: ``skip`` / ``didn't meet`` / ``no`` mean the group
did not meet; ``met`` / ``yes`` alone mean it met, with nothing to share. A line that is just
``private`` keeps the learning out of the digest; a line that is just ``anonymous`` publishes
it without a name. Those words inside a sentence ("the private sector") change nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mailbot.core.commands import strip_subject_prefixes

NOT_MET = {
    "skip", "no", "nope", "not yet", "didn't meet", "didnt meet", "did not meet",
    "we didn't meet", "we did not meet", "no we didn't", "no, we didn't", "we haven't met",
    "we have not met", "haven't met", "not met", "no meeting", "rescheduled", "cancelled",
    "canceled", "postponed", "not yet, rescheduled", "no thanks",
}  # fmt: skip
MET = {"met", "yes", "yes we met", "yes, we met", "we met", "done", "we did", "yes we did"}
REF_RE = re.compile(r"\[ref ([a-z0-9-]{3,40})\]", re.IGNORECASE)


class Visibility(StrEnum):
    public = "public"  # in the digest with first name and organisation
    anonymous = "anonymous"  # in the digest without a name
    private = "private"  # stored, never published


@dataclass(frozen=True)
class Answer:
    met: bool | None
    learning: str
    visibility: Visibility


def group_met(recorded: bool | None, said: bool) -> bool:
    """A group met if anyone in it says so: a later "we didn't" never undoes a "yes"."""
    return bool(recorded) or said


def read_answer(text: str, subject: str = "") -> Answer:
    lines = text.strip().splitlines()
    flags = {_flag(line) for line in lines} | {_flag(strip_subject_prefixes(subject))}
    kept = "\n".join(line for line in lines if not _flag(line)).strip()
    visibility = (
        Visibility.private if "private" in flags
        else Visibility.anonymous if "anonymous" in flags
        else Visibility.public
    )  # fmt: skip
    short = " ".join(kept.lower().replace("’", "'").split()).strip(" .!")
    if short in NOT_MET:
        return Answer(False, "", visibility)
    if short in MET or not short:
        return Answer(True if short else None, "", visibility)
    return Answer(True, kept, visibility)


# A "learning" this short ("Thanks!", "Sorry, Bob was ill") is more likely a note than
# something to publish: it is kept, but an organiser looks at it first.
MIN_WORDS = 5


def too_short(learning: str) -> bool:
    return len(learning.split()) < MIN_WORDS


def _flag(line: str) -> str:
    word = line.strip().lower().strip(" .!:()[]")
    return word if word in ("private", "anonymous") else ""


def flags_in(text: str) -> set[str]:
    """The flags on lines of their own anywhere in `text` outside quotes: read before any
    trimming, so that no closing or footer rule can ever take "anonymous" away."""
    return {
        flag
        for line in text.splitlines()
        if not line.lstrip().startswith(">") and (flag := _flag(line))
    }


def is_answer_word(line: str) -> bool:
    """A line that answers the follow-up itself ("anonymous", "yes", "skip"): never a closing."""
    short = " ".join(line.lower().replace("’", "'").split()).strip(" .!:()[]")
    return bool(_flag(line)) or short in MET or short in NOT_MET


def reference_code(subject: str) -> str:
    found = REF_RE.search(subject or "")
    return found.group(1).lower() if found else ""
