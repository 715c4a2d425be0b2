"""Parse an email into membership commands: data in, data out, never an exception.

The Subject is read first (after ``Re:``/``AW:``/``Fwd:``-style prefixes and ``[list]`` tags),
then the lines a person typed above any quote or signature. In the Subject a command word may be
followed by other words ("Join UnMentoring please"); in the body a line counts as a command only
when it is the command and valid arguments alone, so chatty lines like "Stop by any time" are not
read as ``stop``. Profile lines (``name: Anne``) attach to the ``join`` or ``update`` they follow;
profile lines alone mean ``update``.

Each email command is one object in ``COMMANDS``: its forms and help lines (``Usage``), how
it reads its arguments, and a pure ``decide`` that returns the ``Outcome`` (new state and
effects as frozen data) the service carries out. The help email, the README's table and the
parser's vocabulary all come from it. Adding a command means one entry here, its reply
template and its test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from mailbot.core.membership import Member, Outcome, State, TokenCheck


class Verb(StrEnum):
    # "join" shadows str.join on the members only; the commands read best by their own names.
    join = "join"  # type: ignore[assignment]
    confirm = "confirm"
    pause = "pause"
    resume = "resume"
    leave = "leave"
    status = "status"
    update = "update"
    help = "help"
    skip = "skip"
    unskip = "unskip"
    block = "block"
    unblock = "unblock"
    forget = "forget"
    digest = "digest"


class Audience(StrEnum):
    """Who a command is for, so the help lists only what the reader can use."""

    new = "new"  # not a member, never was
    left = "left"  # was a member: can come back, or have what is still held erased
    pending = "pending"  # asked to join, not confirmed yet
    member = "member"  # active or paused, in the pairing rounds
    digest = "digest"  # the digest only, never paired


_IN = (Audience.pending, Audience.member, Audience.digest)
_OUT = (Audience.new, Audience.left)
_ALL = (*_OUT, *_IN)


@dataclass(frozen=True)
class Usage:
    """One way to write a command: the help email, the README's table and the parser's
    vocabulary all come from `USAGES`, and a test holds the parser to every form."""

    verb: Verb
    form: str  # as shown: upper-case words are placeholders (N, CODE, ADDRESS, YYYY-MM-DD)
    does: str  # one line, for the help email and the README
    aliases: tuple[str, ...] = ()
    audience: tuple[Audience, ...] = _ALL




def usages_for(audience: Audience) -> list[Usage]:
    return [u for u in USAGES if audience in u.audience]


def audience_of(state: str, pairing: bool) -> Audience:
    """``state`` as templates see it: "none", "pending", "active", "paused" or "left"."""
    if state in ("none", "left"):
        return Audience.new if state == "none" else Audience.left
    if state == "pending":
        return Audience.pending
    return Audience.member if pairing else Audience.digest


def usage_table() -> str:
    """The README's table of email commands, as Markdown (a test keeps the README equal)."""
    rows = ["| command | aliases | what it does |", "|---|---|---|"]
    for u in USAGES:
        aliases = ", ".join(f"`{a}`" for a in u.aliases)
        rows.append(f"| `{u.form}` | {aliases} | {u.does} |".replace("|  |", "| |"))
    return "\n".join(rows) + "\n"



PROFILE_KEYS: dict[str, str] = {
    "name": "name",
    "phone": "phone",
    "mobile": "phone",
    "tel": "phone",
    "skype": "skype",
    "google": "google",
    "org": "org",
    "organisation": "org",
    "organization": "org",
    "company": "org",
    "about": "about",
    "bio": "about",
}
PROFILE_FIELDS = ("name", "org", "phone", "skype", "google", "about")
PROFILE_MAX = {"name": 80, "org": 80, "phone": 40, "skype": 80, "google": 120, "about": 200}

MAX_COMMANDS = 10
MAX_PAUSE_ROUNDS = 52
TOKEN_RE = re.compile(r"\bconfirm[\s:]+([a-z2-7]{24})\b", re.IGNORECASE)
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|antwort|ref|res|r|fw|fwd|wg|tr|rv|enc|doorst)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{1,40}\]\s*)+",
    re.IGNORECASE,
)
_PROFILE_RE = re.compile(r"^([A-Za-z]+)\s*[:=]\s*(.*)$")
_INVISIBLE_RE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_PUNCTUATION = ".,!?:;\"'()[]«»“”‘’"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Command:
    verb: Verb
    profile: tuple[tuple[str, str], ...] = ()
    rounds: int | None = None
    until: date | None = None
    token: str | None = None
    error: str | None = None
    text: str = ""
    target: str | None = None  # block/unblock: the other person's address
    digest_only: bool = False  # "subscribe digest": the digest, never paired
    on: bool = True  # "digest on" / "digest off"

    def with_profile(self, items: list[tuple[str, str]]) -> Command:
        merged = dict(self.profile)
        merged.update(items)
        return replace(self, profile=tuple(merged.items()))


@dataclass(frozen=True)
class Parsed:
    commands: tuple[Command, ...] = ()
    unknown: tuple[str, ...] = ()
    dropped: int = 0  # commands past MAX_COMMANDS, ignored
    notes: tuple[str, ...] = field(default=())

    @property
    def verbs(self) -> list[str]:
        return [c.verb.value for c in self.commands]


def strip_subject_prefixes(subject: str) -> str:
    return _PREFIX_RE.sub("", _INVISIBLE_RE.sub("", subject or "")).strip()


REFUSALS = re.compile(
    r"\b(?:no,? thanks?|no,? thank you|not interested|remove me|unsubscribe|did ?n[o']t ask"
    r"|do ?n[o']t want|nein,? danke|abmelden|non,? merci|désinscri|no,? gracias)\b",
    re.IGNORECASE,
)


def is_refusal(lines: list[str]) -> bool:
    """A reply to a confirmation that says no ("No thanks, remove me") must not confirm."""
    return any(REFUSALS.search(line) for line in lines[:5])


# Answers to "please confirm: pause" that say no: "No", "Not me", "Cancel", "wasn't me".
_DENIALS = re.compile(
    r"^\W*(?:no|nope|nah|cancel|stop|don'?t|do\s+not|not\s+me|nein|non|nee|nej)\b"
    r"|\b(?:was\s*n[o']t\s+me|wasn'?t\s+me|not\s+me|did\s*n[o']t\s+(?:ask|send))\b",
    re.IGNORECASE,
)


def is_denial(lines: list[str]) -> bool:
    """A reply to "please confirm" that says no: the change is cancelled, not made."""
    return is_refusal(lines) or any(_DENIALS.search(line) for line in lines[:3])


def clean_value(value: str, limit: int) -> str:
    """One line of plain text: control characters (header injection) become spaces."""
    return " ".join(_CONTROL_RE.sub(" ", value).split())[:limit]


def parse_commands(subject: str, lines: list[str]) -> Parsed:
    commands: list[Command] = []
    unknown: list[str] = []
    profile: list[tuple[str, str]] = []
    notes: list[str] = []
    first = parse_subject(subject)
    if first is not None:
        commands.append(first)
    for line in lines:
        item = parse_profile_line(line)
        if item is not None:
            if item[1] is None:
                notes.append(f"{item[0]}: that is too long, so I kept the first part")
            profile.append((item[0], item[2]))
            continue
        command = parse_line(line)
        if command is not None:
            commands.append(command)
        elif not commands:
            unknown.append(clean_value(line, 60))
    commands = _with_profile(commands, profile)
    unique = _dedupe(commands)
    if commands or profile:
        unknown = []
    return Parsed(
        tuple(unique[:MAX_COMMANDS]),
        tuple(unknown[:3]),
        max(0, len(unique) - MAX_COMMANDS),
        tuple(notes),
    )


def _with_profile(commands: list[Command], profile: list[tuple[str, str]]) -> list[Command]:
    """Profile lines belong to the first ``join`` or ``update``; without one they are ignored,
    so a signature's "Tel:" or "Company:" line never rewrites anyone's profile."""
    for i, command in enumerate(commands):
        if command.verb in (Verb.join, Verb.update):
            commands[i] = command.with_profile(profile)
            break
    return commands


def _dedupe(commands: list[Command]) -> list[Command]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for c in commands:
        key = (c.verb, c.rounds, c.until, c.token, c.target)  # profile went to the first join
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def parse_subject(subject: str) -> Command | None:
    text = strip_subject_prefixes(subject)
    token = TOKEN_RE.search(text)
    if token:
        return Command(Verb.confirm, token=token.group(1).lower(), text="confirm")
    return _from_words(text.split(), in_subject=True)


def parse_line(line: str) -> Command | None:
    words = line.split()
    if len(words) <= 4 or (len(words) <= 8 and words[-1].startswith("<")):  # block Name <a@b>
        return _from_words(words, in_subject=False)
    return None


def _from_words(words: list[str], in_subject: bool) -> Command | None:
    words = _digest_phrase(words)
    verb = ALIASES.get(words[0].lower().strip(_PUNCTUATION)) if words else None
    if verb is None:
        return None
    command = _with_arguments(verb, words[1:], words[0])
    if not command.error or verb == Verb.confirm:
        return command
    if in_subject:
        # "Join UnMentoring please", "digest off, thanks": in the Subject a command may carry
        # other words; the longest start of them that reads as its arguments counts. A
        # command that needs arguments and has none (a bare "digest") is answered with why.
        for end in range(len(words) - 1, 1, -1):
            shorter = _with_arguments(verb, words[1:end], words[0])
            if not shorter.error and not any(map(_is_argument, words[end:])):
                return shorter
        if len(words) < 2 or any(map(_is_argument, words[1:])):
            return command  # "pause 99": wrong arguments are explained, never dropped
        return _with_arguments(verb, [], words[0])
    if verb == Verb.pause:
        # "pause until 2026-12-22   sit out until then" in a body is prose, not a command.
        return command if _looks_like_pause_args(words[1:]) else None
    return None


# What an argument looks like: a number, a date, an address, or a word commands take.
_ARGUMENT_RE = re.compile(r"\d[\d-]*|[^@\s]+@[^@\s]+|until|for|on|off|next|round|rounds|digest",
                          re.IGNORECASE)  # fmt: skip

def _is_argument(word: str) -> bool:
    return bool(_ARGUMENT_RE.fullmatch(word.strip(_PUNCTUATION)))


_FILLERS = frozenset({"to", "the", "from", "me", "my", "of", "monthly"})


def _digest_phrase(words: list[str]) -> list[str]:
    """"unsubscribe (from the) digest" and "stop digest" mean "digest off", not leave;
    "subscribe to the digest" means "subscribe digest", not joining the rounds."""
    verb = ALIASES.get(words[0].lower().strip(_PUNCTUATION)) if words else None
    if verb not in (Verb.join, Verb.leave):
        return words
    rest = words[1:]
    while rest and rest[0].lower() in _FILLERS:
        rest = rest[1:]
    if not rest or rest[0].lower().strip(_PUNCTUATION) != "digest":
        return words
    return (["digest", "off"] if verb == Verb.leave else ["subscribe", "digest"]) + rest[1:]


def parse_profile_line(line: str) -> tuple[str, str | None, str] | None:
    """``(field, value or None when cut, cut value)`` for a ``key: value`` line."""
    match = _PROFILE_RE.match(line.strip())
    if not match:
        return None
    key = PROFILE_KEYS.get(match.group(1).lower())
    if key is None:
        return None
    raw = clean_value(match.group(2), 10_000)
    value = raw[: PROFILE_MAX[key]]
    return key, (value if value == raw else None), value


def _looks_like_pause_args(args: list[str]) -> bool:
    return 0 < len(args) <= 3 and (args[0].isdigit() or args[0].lower() in ("until", "for"))


def _with_arguments(verb: Verb, args: list[str], word: str) -> Command:
    text = " ".join([word.lower(), *args])[:80]
    return COMMANDS[verb].arguments(verb, args, text)


def _no_arguments(verb: Verb, args: list[str], text: str) -> Command:
    if args:
        return Command(verb, error=f"{verb.value} takes nothing after it", text=text)
    return Command(verb, text=text)


def _words(args: list[str]) -> list[str]:
    return [a.lower().strip(_PUNCTUATION) for a in args]


def _code(verb: Verb, args: list[str], text: str) -> Command:
    token = args[0].lower() if len(args) == 1 else ""
    if re.fullmatch(r"[a-z2-7]{24}", token):
        return Command(verb, token=token, text="confirm")
    return Command(verb, error="confirm needs the code from the confirmation email",
                   text="confirm")  # fmt: skip


def _join_arguments(verb: Verb, args: list[str], text: str) -> Command:
    if _words(args) == ["digest"]:
        return Command(verb, digest_only=True, text="subscribe digest")
    return _no_arguments(verb, args, text)


def _on_off(verb: Verb, args: list[str], text: str) -> Command:
    words = _words(args)
    if words in (["on"], ["off"]):
        return Command(verb, on=words == ["on"], text=f"digest {words[0]}")
    return Command(verb, error='write "digest on" or "digest off"', text="digest")


def _next_round(verb: Verb, args: list[str], text: str) -> Command:
    if [a.lower().rstrip(".!") for a in args] in ([], ["next"], ["next", "round"]):
        return Command(verb, text="skip next")
    return _no_arguments(verb, args, text)


_ADDRESS_RE = re.compile(r"<?([A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?[.,;]?")


def _address(verb: Verb, args: list[str], text: str) -> Command:
    """``block a@b``, or as copied from an intro's To: line, ``block Anne Person <a@b>``."""
    named = len(args) > 1 and args[-1].startswith("<") and len(args) <= 7
    match = _ADDRESS_RE.fullmatch(args[-1]) if len(args) == 1 or named else None
    if match is None:
        return Command(
            verb,
            error=f"{verb.value} needs one email address, e.g. {verb.value} someone@example.org",
            text=verb.value,
        )
    return Command(verb, target=match.group(1).lower(), text=f"{verb.value} {match.group(1)}")


def _pause(verb: Verb, args: list[str], text: str) -> Command:
    words = [a.lower().rstrip(".") for a in args]
    if words and words[0] == "for":
        words = words[1:]
    if not words:
        return Command(Verb.pause, text=text)
    if words[0] == "until" and len(words) == 2:
        try:
            return Command(Verb.pause, until=date.fromisoformat(words[1]), text=text)
        except ValueError:
            pass
        return Command(
            Verb.pause, error="write the date as YYYY-MM-DD, e.g. pause until 2026-01-31", text=text
        )
    if words[0].isdigit() and (
        len(words) == 1 or (len(words) == 2 and words[1] in ("round", "rounds"))
    ):
        rounds = int(words[0])
        if 1 <= rounds <= MAX_PAUSE_ROUNDS:
            return Command(Verb.pause, rounds=rounds, text=text)
        return Command(Verb.pause, error=f"pause N takes 1 to {MAX_PAUSE_ROUNDS} rounds", text=text)
    return Command(
        Verb.pause, error="try pause, pause 2 (rounds) or pause until YYYY-MM-DD", text=text
    )


# --- what each command decides --------------------------------------------------------------

Decide = Callable[[Member | None, Command, date, TokenCheck | None], Outcome]
Moves = Mapping[State | None, tuple[State, str]]  # from state: (to state, reply template)


def _moving(moves: Moves) -> Decide:
    """A command that moves a membership by a table, like h11's: a state missing from the
    table is answered with a notice and changes nothing."""

    def decide(member: Member | None, command: Command, today: date,
               token: TokenCheck | None) -> Outcome:  # fmt: skip
        state = member.state if member else None
        if state not in moves:
            return Outcome(_refusal(state, command.verb))
        new_state, reply = moves[state]
        return Outcome(reply, state=new_state, profile=dict(command.profile),
                       pause_rounds=command.rounds, paused_until=command.until,
                       issue_token=reply == "confirm")  # fmt: skip

    return decide


def _answer(reply: str) -> Decide:
    return lambda member, command, today, token: Outcome(reply)


def _refusal(state: State | None, verb: Verb) -> str:
    if state is None or state == State.left:
        return "notice/not_member"
    if verb == Verb.resume and state == State.active:
        return "notice/not_paused"
    if state == State.pending:
        return "notice/pending"
    return "notice/help"


_PAUSE_MOVES: Moves = {State.active: (State.paused, "notice/paused"),
                       State.paused: (State.paused, "notice/paused")}  # fmt: skip


def _decide_pause(member: Member | None, command: Command, today: date,
                  token: TokenCheck | None) -> Outcome:  # fmt: skip
    if command.until is not None and command.until <= today:
        return Outcome("notice/error", detail="that date is not in the future")
    return _moving(_PAUSE_MOVES)(member, command, today, token)


def _decide_confirm(member: Member | None, command: Command, today: date,
                    token: TokenCheck | None) -> Outcome:  # fmt: skip
    state = member.state if member else None
    token = token or TokenCheck.unknown
    if token == TokenCheck.ok:
        if state == State.pending:
            return Outcome("welcome", state=State.active, use_token=True)
        if state in (State.active, State.paused):
            return Outcome("notice/already_member", use_token=True)
        return Outcome("notice/bad_token",
                       detail="you left after asking to join; send join to start again",
                       use_token=True)  # fmt: skip
    if token == TokenCheck.expired and state == State.pending:
        return Outcome("confirm", state=State.pending, issue_token=True,
                       detail="That code had expired, so here is a new one.")  # fmt: skip
    if token == TokenCheck.used and state in (State.active, State.paused):
        return Outcome("notice/already_member")
    details = {
        TokenCheck.expired: "that code has expired",
        TokenCheck.used: "that code has already been used",
        TokenCheck.other_address: "that code was sent to a different address",
        TokenCheck.unknown: "I don't recognise that code",
    }
    return Outcome("notice/bad_token", detail=details[token])


def _is_member(member: Member | None) -> bool:
    return member is not None and member.state != State.left


def _decide_digest(member: Member | None, command: Command, today: date,
                   token: TokenCheck | None) -> Outcome:  # fmt: skip
    if not _is_member(member):
        return Outcome("notice/not_member")
    return Outcome("notice/digest_on" if command.on else "notice/digest_off", digest=command.on)


def _decide_forget(member: Member | None, command: Command, today: date,
                   token: TokenCheck | None) -> Outcome:  # fmt: skip
    if member is None:
        return Outcome("notice/not_member")
    return Outcome("notice/forgotten", forget=True)


def _decide_skip(member: Member | None, command: Command, today: date,
                 token: TokenCheck | None) -> Outcome:  # fmt: skip
    if member is None or not _is_member(member):
        return Outcome("notice/not_member")
    if member.state == State.active:
        return Outcome("notice/skipping", skip_next=True)
    if member.state == State.paused:
        return Outcome("notice/error", detail="you're paused, so you'll sit out anyway")
    return Outcome("notice/pending")


def _decide_unskip(member: Member | None, command: Command, today: date,
                   token: TokenCheck | None) -> Outcome:  # fmt: skip
    if member is None or not _is_member(member):
        return Outcome("notice/not_member")
    if member.state == State.active and member.skip_next:
        return Outcome("notice/unskipped", skip_next=False)
    if member.state == State.active:
        return Outcome("notice/error", detail="you weren't sitting out the next round")
    if member.state == State.paused:
        return Outcome("notice/error", detail='you\'re paused: send "resume" to take part')
    return Outcome("notice/pending")


def _decide_block(member: Member | None, command: Command, today: date,
                  token: TokenCheck | None) -> Outcome:  # fmt: skip
    if member is None or not _is_member(member):
        return Outcome("notice/not_member")
    if command.target == member.email:
        return Outcome("notice/error", detail="that is your own address")
    if command.verb == Verb.block:
        return Outcome("notice/blocked", block=command.target or "")
    return Outcome("notice/unblocked", unblock=command.target or "")


Arguments = Callable[[Verb, list[str], str], Command]


@dataclass(frozen=True)
class EmailCommand:
    """One email command: how it is written, read and decided."""

    verb: Verb
    usages: tuple[Usage, ...]
    decide: Decide
    arguments: Arguments = _no_arguments
    moves: Moves = field(default_factory=dict)  # the table `decide` follows, if it does
    change: bool = False  # changes a membership: an unverified sender's waits for the owner
    pairing_only: bool = False  # about the rounds: a digest-only member is told so


def _command(verb: Verb, usages: tuple[Usage, ...], moves: Moves | None = None, *,
             decide: Decide | None = None, arguments: Arguments = _no_arguments,
             change: bool = False, pairing_only: bool = False) -> EmailCommand:  # fmt: skip
    chosen = decide or _moving(moves or {})
    return EmailCommand(verb, usages, chosen, arguments, moves or {}, change, pairing_only)


_MEMBER = (Audience.member,)
_READERS = (Audience.member, Audience.digest)

COMMANDS: dict[Verb, EmailCommand] = {c.verb: c for c in (
    _command(Verb.join, (
        Usage(Verb.join, "join", "ask to join the pairing rounds (profile lines below it)",
              ("subscribe", "start"), (*_OUT, Audience.digest)),
        Usage(Verb.join, "subscribe digest", "the monthly digest only, never paired",
              ("join digest",), _OUT),
    ), {None: (State.pending, "confirm"), State.left: (State.pending, "confirm"),
        State.pending: (State.pending, "confirm"),
        State.active: (State.active, "notice/already_member"),
        State.paused: (State.paused, "notice/already_member")}, arguments=_join_arguments),
    _command(Verb.confirm, (
        Usage(Verb.confirm, "confirm CODE", "finish joining (replying to the confirmation "
              "email does the same)", (), (Audience.pending,)),
    ), decide=_decide_confirm, arguments=_code),
    _command(Verb.status, (
        Usage(Verb.status, "status", "your membership and the profile others see"),
    ), decide=_answer("notice/status")),
    _command(Verb.update, (
        Usage(Verb.update, "update", "change your profile (profile lines below it)", (), _IN),
    ), {s: (s, "notice/updated") for s in (State.pending, State.active, State.paused)},
        change=True),
    _command(Verb.pause, (
        Usage(Verb.pause, "pause", 'sit out the pairing rounds until you send "resume"', (),
              _MEMBER),
        Usage(Verb.pause, "pause N", "sit out the next N rounds (1 to 52)",
              ("pause N rounds",), _MEMBER),
        Usage(Verb.pause, "pause until YYYY-MM-DD", "sit out until that date, then you're "
              "back in by yourself", (), _MEMBER),
    ), _PAUSE_MOVES, decide=_decide_pause, arguments=_pause, change=True, pairing_only=True),
    _command(Verb.resume, (
        Usage(Verb.resume, "resume", "take part again", ("unpause",), _MEMBER),
    ), {State.paused: (State.active, "notice/resumed")}, change=True, pairing_only=True),
    _command(Verb.skip, (
        Usage(Verb.skip, "skip next", "sit out the next round only", ("skip",), _MEMBER),
    ), decide=_decide_skip, arguments=_next_round, change=True, pairing_only=True),
    _command(Verb.unskip, (
        Usage(Verb.unskip, "unskip", 'take part in the next round after all (undo "skip")',
              (), _MEMBER),
    ), decide=_decide_unskip, change=True, pairing_only=True),
    _command(Verb.block, (
        Usage(Verb.block, "block ADDRESS", "never be paired with that person (they are not "
              "told)", (), _MEMBER),
    ), decide=_decide_block, arguments=_address, change=True, pairing_only=True),
    _command(Verb.unblock, (
        Usage(Verb.unblock, "unblock ADDRESS", "undo a block", (), _MEMBER),
    ), decide=_decide_block, arguments=_address, change=True, pairing_only=True),
    _command(Verb.digest, (
        Usage(Verb.digest, "digest off", "stop the monthly digest",
              ("unsubscribe digest", "stop digest", "leave digest"), _READERS),
        Usage(Verb.digest, "digest on", "get the monthly digest again", (), _READERS),
    ), decide=_decide_digest, arguments=_on_off, change=True),
    _command(Verb.leave, (
        Usage(Verb.leave, "leave", "stop and leave (you can join again later)",
              ("unsubscribe", "stop"), _IN),
    ), {s: (State.left, "notice/left") for s in (State.pending, State.active, State.paused)},
        change=True),
    _command(Verb.forget, (
        Usage(Verb.forget, "forget", "leave and erase your profile and everything you shared",
              (), (Audience.left, *_IN)),
    ), decide=_decide_forget, change=True),
    _command(Verb.help, (
        Usage(Verb.help, "help", "this list"),
    ), decide=_answer("notice/help")),
)}  # fmt: skip

USAGES: tuple[Usage, ...] = tuple(u for c in COMMANDS.values() for u in c.usages)

# Every legal move, for tests and documentation: {state: {verb: new state}}.
TRANSITIONS: dict[State | None, dict[Verb, State]] = {}
for _c in COMMANDS.values():
    for _state, (_to, _reply) in _c.moves.items():
        TRANSITIONS.setdefault(_state, {})[_c.verb] = _to


def decide(member: Member | None, command: Command, today: date,
           token: TokenCheck | None = None) -> Outcome:  # fmt: skip
    """What `command` from `member` (as stored) comes to; no I/O, never an exception."""
    if command.error:
        return Outcome("notice/error", detail=command.error)
    spec = COMMANDS[command.verb]
    if spec.pairing_only and member is not None and not member.pairing:
        return Outcome("notice/digest_only")  # "pause" means nothing to a digest reader
    return spec.decide(member, command, today, token)


def needs_owner(command: Command, member: Member | None, verified: bool) -> bool:
    """Whether `command` waits for the owner of the address to confirm by reply. Anyone can
    write a member's address in From, so a change acts at once only for a sender the
    receiving server vouches for. `forget` always waits (it cannot be undone). Without a
    membership there is nothing to change: the answer says so at once."""
    if not _is_member(member) or command.error:
        return False
    if command.verb == Verb.forget:
        return True
    if verified:
        return False
    return COMMANDS[command.verb].change or (command.verb == Verb.join and bool(command.profile))


def _vocabulary() -> dict[str, Verb]:
    """Each command word the parser knows: the first word of every form and one-word alias
    in `USAGES`. Longer aliases ("stop digest") are phrases the parser reads as their form;
    the tests hold it to every one of them."""
    words: dict[str, Verb] = {}
    for usage in USAGES:
        for form in (usage.form, *(a for a in usage.aliases if " " not in a)):
            word = form.split()[0]
            assert words.setdefault(word, usage.verb) == usage.verb, f"{word} means two verbs"
    return words


ALIASES: dict[str, Verb] = _vocabulary()
