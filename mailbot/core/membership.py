"""Membership states as a table: every (state, verb) pair has an answer, none an exception.

``decide`` turns one command and the member as stored into an ``Outcome``: the new state, the
profile changes and which reply to send. The service applies it; nothing here touches I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from mailbot.core.commands import Command, Verb


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


# Changes to a membership. Anyone can write a member's address in From, so they act at once
# only for a sender the receiving server vouches for; otherwise the owner confirms by reply.
CHANGES = frozenset({Verb.pause, Verb.resume, Verb.skip, Verb.block, Verb.unblock, Verb.update,
                     Verb.digest, Verb.leave, Verb.forget})  # fmt: skip


def needs_owner(command: Command, member: Member | None, verified: bool) -> bool:
    """Whether `command` waits for the owner of the address to confirm by reply.

    `forget` always does (it cannot be undone); other changes unless the sender is verified.
    Without a membership there is nothing to change: the answer says so at once.
    """
    if member is None or member.state == State.left or command.error:
        return False
    if command.verb == Verb.forget:
        return True
    if verified:
        return False
    return command.verb in CHANGES or (command.verb == Verb.join and bool(command.profile))


# Commands about the pairing rounds: a digest-only member is told they are not in them.
PAIRING_ONLY = frozenset({Verb.pause, Verb.resume, Verb.skip, Verb.block, Verb.unblock})

# The legal moves. A verb missing for a state is answered with a notice and changes nothing.
NONE = None
TRANSITIONS: dict[State | None, dict[Verb, State]] = {
    NONE: {Verb.join: State.pending},
    State.pending: {
        Verb.join: State.pending,
        Verb.confirm: State.active,
        Verb.leave: State.left,
        Verb.update: State.pending,
    },
    State.active: {
        Verb.join: State.active,
        Verb.pause: State.paused,
        Verb.leave: State.left,
        Verb.update: State.active,
    },
    State.paused: {
        Verb.join: State.paused,
        Verb.pause: State.paused,
        Verb.resume: State.active,
        Verb.leave: State.left,
        Verb.update: State.paused,
    },
    State.left: {Verb.join: State.pending},
}

# Replies: confirm and welcome are emails of their own; everything else is a notice section.
REPLY_FOR_MOVE: dict[tuple[State | None, Verb], str] = {
    (NONE, Verb.join): "confirm",
    (State.left, Verb.join): "confirm",
    (State.pending, Verb.join): "confirm",
    (State.pending, Verb.confirm): "welcome",
    (State.active, Verb.join): "notice/already_member",
    (State.paused, Verb.join): "notice/already_member",
    (State.active, Verb.pause): "notice/paused",
    (State.paused, Verb.pause): "notice/paused",
    (State.paused, Verb.resume): "notice/resumed",
    (State.pending, Verb.leave): "notice/left",
    (State.active, Verb.leave): "notice/left",
    (State.paused, Verb.leave): "notice/left",
    (State.pending, Verb.update): "notice/updated",
    (State.active, Verb.update): "notice/updated",
    (State.paused, Verb.update): "notice/updated",
}


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
    skip_next: bool = False
    block: str = ""  # never paired with this address; never told to them
    unblock: str = ""
    forget: bool = False  # erase the person: profile, learnings, codes
    digest: bool | None = None  # turn the digest on or off


def decide(
    member: Member | None, command: Command, today: date, token: TokenCheck | None = None
) -> Outcome:
    state = member.state if member else None
    if command.error:
        return Outcome("notice/error", detail=command.error)
    if command.verb == Verb.help:
        return Outcome("notice/help")
    if command.verb == Verb.status:
        return Outcome("notice/status")
    if command.verb == Verb.confirm:
        return _confirm(state, token or TokenCheck.unknown)
    if command.verb == Verb.digest:
        if member is None or member.state == State.left:
            return Outcome("notice/not_member")
        return Outcome("notice/digest_on" if command.on else "notice/digest_off",
                       digest=command.on)  # fmt: skip
    if command.verb == Verb.forget:
        if member is None:
            return Outcome("notice/not_member")
        return Outcome("notice/forgotten", forget=True)
    if member is not None and not member.pairing and command.verb in PAIRING_ONLY:
        return Outcome("notice/digest_only")  # "pause" means nothing to a digest reader
    if command.verb in (Verb.skip, Verb.block, Verb.unblock):
        return _personal(member, command)
    if command.verb == Verb.pause and command.until is not None and command.until <= today:
        return Outcome("notice/error", detail="that date is not in the future")
    new_state = TRANSITIONS.get(state, {}).get(command.verb)
    if new_state is None:
        return Outcome(_refusal(state, command.verb))
    reply = REPLY_FOR_MOVE[(state, command.verb)]
    return Outcome(
        reply,
        state=new_state,
        profile=dict(command.profile),
        pause_rounds=command.rounds if command.verb == Verb.pause else None,
        paused_until=command.until if command.verb == Verb.pause else None,
        issue_token=reply == "confirm",
    )


def _personal(member: Member | None, command: Command) -> Outcome:
    """Skip and block change no state: they only make sense for a member."""
    if member is None or member.state == State.left:
        return Outcome("notice/not_member")
    if command.verb == Verb.skip:
        if member.state == State.active:
            return Outcome("notice/skipping", skip_next=True)
        if member.state == State.paused:
            return Outcome("notice/error", detail="you're paused, so you'll sit out anyway")
        return Outcome("notice/pending")
    if command.target == member.email:
        return Outcome("notice/error", detail="that is your own address")
    if command.verb == Verb.block:
        return Outcome("notice/blocked", block=command.target or "")
    return Outcome("notice/unblocked", unblock=command.target or "")


def _confirm(state: State | None, token: TokenCheck) -> Outcome:
    if token == TokenCheck.ok:
        if state == State.pending:
            return Outcome("welcome", state=State.active, use_token=True)
        if state in (State.active, State.paused):
            return Outcome("notice/already_member", use_token=True)
        return Outcome(
            "notice/bad_token",
            detail="you left after asking to join; send join to start again",
            use_token=True,
        )
    if token == TokenCheck.expired and state == State.pending:
        return Outcome(
            "confirm",
            state=State.pending,
            issue_token=True,
            detail="That code had expired, so here is a new one.",
        )
    details = {
        TokenCheck.expired: "that code has expired",
        TokenCheck.used: "that code has already been used",
        TokenCheck.other_address: "that code was sent to a different address",
        TokenCheck.unknown: "I don't recognise that code",
    }
    if token == TokenCheck.used and state in (State.active, State.paused):
        return Outcome("notice/already_member")
    return Outcome("notice/bad_token", detail=details[token])


def _refusal(state: State | None, verb: Verb) -> str:
    if state is None or state == State.left:
        return "notice/not_member"
    if verb == Verb.resume and state == State.active:
        return "notice/not_paused"
    if state == State.pending:
        return "notice/pending"
    return "notice/help"


def first_name(name: str) -> str:
    """ "Anne Person" -> "Anne"; "Person, Anne" -> "Anne"; "" -> ""."""
    if "," in name:
        name = name.split(",", 1)[1]
    words = name.replace('"', " ").split()
    return words[0] if words else ""
