"""Parse an email into membership commands: data in, data out, never an exception.

The Subject is read first (after ``Re:``/``AW:``/``Fwd:``-style prefixes and ``[list]`` tags),
then the lines a person typed above any quote or signature. In the Subject a command word may be
followed by other words ("Join UnMentoring please"); in the body a line counts as a command only
when it is the command and valid arguments alone, so chatty lines like "Stop by any time" are not
read as ``stop``. Profile lines (``name: Anne``) attach to the ``join`` or ``update`` they follow;
profile lines alone mean ``update``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum


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


USAGES: tuple[Usage, ...] = (
    Usage(Verb.join, "join", "ask to join the pairing rounds (profile lines below it)",
          ("subscribe", "start"), (*_OUT, Audience.digest)),
    Usage(Verb.join, "subscribe digest", "the monthly digest only, never paired",
          ("join digest",), _OUT),
    Usage(Verb.confirm, "confirm CODE", "finish joining (replying to the confirmation "
          "email does the same)", (), (Audience.pending,)),
    Usage(Verb.status, "status", "your membership and the profile others see"),
    Usage(Verb.update, "update", "change your profile (profile lines below it)", (), _IN),
    Usage(Verb.pause, "pause", 'sit out the pairing rounds until you send "resume"', (),
          (Audience.member,)),
    Usage(Verb.pause, "pause N", "sit out the next N rounds (1 to 52)", ("pause N rounds",),
          (Audience.member,)),
    Usage(Verb.pause, "pause until YYYY-MM-DD", "sit out until that date, then you're back "
          "in by yourself", (), (Audience.member,)),
    Usage(Verb.resume, "resume", "take part again", ("unpause",), (Audience.member,)),
    Usage(Verb.skip, "skip next", "sit out the next round only", ("skip",), (Audience.member,)),
    Usage(Verb.block, "block ADDRESS", "never be paired with that person (they are not told)",
          (), (Audience.member,)),
    Usage(Verb.unblock, "unblock ADDRESS", "undo a block", (), (Audience.member,)),
    Usage(Verb.digest, "digest off", "stop the monthly digest",
          ("unsubscribe digest", "stop digest", "leave digest"),
          (Audience.member, Audience.digest)),
    Usage(Verb.digest, "digest on", "get the monthly digest again", (),
          (Audience.member, Audience.digest)),
    Usage(Verb.leave, "leave", "stop and leave (you can join again later)",
          ("unsubscribe", "stop"), _IN),
    Usage(Verb.forget, "forget", "leave and erase your profile and everything you shared",
          (), (Audience.left, *_IN)),
    Usage(Verb.help, "help", "this list"),
)  # fmt: skip


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
    if verb == Verb.pause:
        return _pause(args, text)
    if verb == Verb.confirm:
        token = args[0].lower() if len(args) == 1 else ""
        if re.fullmatch(r"[a-z2-7]{24}", token):
            return Command(verb, token=token, text="confirm")
        return Command(
            verb, error="confirm needs the code from the confirmation email", text="confirm"
        )
    if verb in (Verb.block, Verb.unblock):
        return _block(verb, args, text)
    words = [a.lower().strip(_PUNCTUATION) for a in args]
    if verb == Verb.join and words == ["digest"]:
        return Command(verb, digest_only=True, text="subscribe digest")
    if verb == Verb.digest:
        if words in (["on"], ["off"]):
            return Command(verb, on=words == ["on"], text=f"digest {words[0]}")
        return Command(verb, error='write "digest on" or "digest off"', text="digest")
    if verb == Verb.skip and [a.lower().rstrip(".!") for a in args] in (
        [],
        ["next"],
        ["next", "round"],
    ):
        return Command(verb, text="skip next")
    if args:
        return Command(verb, error=f"{verb.value} takes nothing after it", text=text)
    return Command(verb, text=text)


_ADDRESS_RE = re.compile(r"<?([A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?[.,;]?")


def _block(verb: Verb, args: list[str], text: str) -> Command:
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


def _pause(args: list[str], text: str) -> Command:
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
