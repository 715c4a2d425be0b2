"""A membership: its states, the member as stored, and the ``Outcome`` a command decides.

Each email command decides its own outcome (``mailbot.core.commands``); the service carries
the outcome out. Nothing here touches I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any


class State(StrEnum):
    pending = "pending"
    active = "active"
    paused = "paused"
    left = "left"


class TokenCheck(StrEnum):
    """What the store found for a confirmation code, decided before ``decide`` runs."""

    ok = "ok"
    unknown = "unknown"
    expired = "expired"
    used = "used"
    other_address = "other_address"


@dataclass(frozen=True)
class Member:
    email: str
    state: State
    name: str = ""
    org: str = ""
    phone: str = ""
    skype: str = ""
    google: str = ""
    about: str = ""
    pause_rounds: int | None = None
    paused_until: date | None = None
    skip_next: bool = False
    digest: bool = True  # gets the monthly digest
    pairing: bool = True  # False: a digest-only subscriber, never paired


@dataclass(frozen=True)
class Outcome:
    reply: str
    state: State | None = None  # None: no change
    profile: dict[str, str] = field(default_factory=dict)
    pause_rounds: int | None = None
    paused_until: date | None = None
    issue_token: bool = False
    use_token: bool = False
    detail: str = ""  # a short reason shown in the reply, e.g. why a code was refused
    skip_next: bool | None = None  # sit out the next round (True), or not after all (False)
    block: str = ""  # never paired with this address; never told to them
    unblock: str = ""
    forget: bool = False  # erase the person: profile, learnings, codes
    digest: bool | None = None  # turn the digest on or off


_FIELDS = fields(Member)


def view(member: Member | None, email: str = "") -> dict[str, Any]:
    """What every template sees of a person, as `member`, `person` or one of `people`: the
    stored profile; `state` as text ("none": not a member); `first_name` as they gave it (may
    be empty); `call_name` and `display_name`, never empty (else the address)."""
    base = member or Member(email, State.pending)
    # Flat fields: a shallow copy gives what `asdict` would, at a tenth of the cost (a round
    # of 100,000 builds a view per person).
    found = {f.name: getattr(base, f.name) for f in _FIELDS}
    found["state"] = member.state.value if member else "none"
    found["first_name"] = first_name(base.name)
    found["call_name"] = found["first_name"] or base.email.split("@")[0]
    found["display_name"] = base.name or base.email
    found["paused_until"] = base.paused_until.isoformat() if base.paused_until else None
    return found


def first_name(name: str) -> str:
    """ "Anne Person" -> "Anne"; "Person, Anne" -> "Anne"; "" -> ""."""
    if "," in name:
        name = name.split(",", 1)[1]
    words = name.replace('"', " ").split()
    return words[0] if words else ""
