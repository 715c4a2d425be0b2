"""Parsing commands from a Subject and the first lines of a body: pure, table-driven."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.core.commands import (
    ALIASES,
    MAX_COMMANDS,
    USAGES,
    Audience,
    Verb,
    parse_commands,
    strip_subject_prefixes,
    usage_table,
    usages_for,
)
from mailbot.render import Renderer
from mailbot.testing import make_config


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Re: join", "join"),
        ("RE: AW: Fwd: join", "join"),
        ("Re[2]: join", "join"),
        ("SV: VS: join", "join"),
        ("[UnMentoring] Re: status", "status"),
        ("  Antw:  help ", "help"),
        ("WG: TR: RV: join", "join"),
        (
            "Re: Re: Confirm joining UnMentoring (confirm abc)",
            "Confirm joining UnMentoring (confirm abc)",
        ),
        ("", ""),
    ],
)
def test_subject_prefixes_are_stripped(subject, expected):
    assert strip_subject_prefixes(subject) == expected


@pytest.mark.parametrize(
    "subject, lines, verbs",
    [
        ("join", [], ["join"]),
        ("JOIN", [], ["join"]),
        ("Join UnMentoring please", [], ["join"]),
        ("subscribe", [], ["join"]),
        ("Start", [], ["join"]),
        ("unsubscribe", [], ["leave"]),
        ("stop", [], ["leave"]),
        ("Leave.", [], ["leave"]),
        ("", ["join"], ["join"]),
        ("", ["Pause"], ["pause"]),
        ("Hello", ["status"], ["status"]),
        ("", ["resume", "help"], ["resume", "help"]),
        ("help", ["help"], ["help"]),  # the same command twice is one command
        ("", ["Stop by any time if you like"], []),  # chatty lines are not commands
        ("", ["join me for coffee?"], []),
        ("Hello", ["name: Anne"], []),  # profile lines need join or update: signatures have them
        ("", ["org: Example", "join"], ["join"]),
        ("join", ["Hi! I'd love to take part.", "org: Example Council"], ["join"]),
    ],
)
def test_verbs(subject, lines, verbs):
    assert parse_commands(subject, lines).verbs == verbs


def test_profile_lines_attach_to_join():
    parsed = parse_commands(
        "join",
        [
            "Name: Anne Person",
            "organisation: Example Council",
            "phone: 01632 960000",
            "Skype: anne.p",
            "google: anne@example.org",
            "about: maps and data",
        ],
    )
    [join] = parsed.commands
    assert dict(join.profile) == {
        "name": "Anne Person",
        "org": "Example Council",
        "phone": "01632 960000",
        "skype": "anne.p",
        "google": "anne@example.org",
        "about": "maps and data",
    }


def test_long_profile_values_are_cut_with_a_note():
    parsed = parse_commands("join", ["about: " + "x" * 500])
    assert len(dict(parsed.commands[0].profile)["about"]) == 200
    assert parsed.notes


@pytest.mark.parametrize(
    "text, rounds, until, error",
    [
        ("pause", None, None, None),
        ("pause 3", 3, None, None),
        ("pause 3 rounds", 3, None, None),
        ("pause for 2 rounds", 2, None, None),
        ("pause until 2027-01-31", None, date(2027, 1, 31), None),
        ("pause 0", None, None, "1 to 52"),
        ("pause 100", None, None, "1 to 52"),
        ("pause until 31/01/2027", None, None, "YYYY-MM-DD"),
        ("pause until 2027-02-30", None, None, "YYYY-MM-DD"),
    ],
)
def test_pause_arguments(text, rounds, until, error):
    [command] = parse_commands(text, []).commands
    assert command.verb == Verb.pause
    assert (command.rounds, command.until) == (rounds, until)
    assert (error is None and command.error is None) or (error in (command.error or ""))


def test_confirm_token_from_subject_anywhere_and_from_a_line():
    token = "abcdefghijklmnopqrstuvwx"
    subject = f"Re: Confirm joining UnMentoring (confirm {token})"
    assert parse_commands(subject, ["yes"]).commands[0].token == token
    assert parse_commands("", [f"confirm {token.upper()}"]).commands[0].token == token
    assert parse_commands("", ["confirm"]).commands[0].error


def test_unknown_lines_are_reported_only_when_nothing_is_understood():
    assert parse_commands("Coffee?", ["Is this the signup?", "thanks"]).unknown == (
        "Is this the signup?",
        "thanks",
    )
    assert parse_commands("join", ["Is this the signup?"]).unknown == ()


def test_control_characters_never_survive_into_profile_values():
    [join] = parse_commands("join", ["name: Eve\x0bBcc\x0c: x@example.com"]).commands
    assert dict(join.profile)["name"] == "Eve Bcc : x@example.com"


def test_at_most_max_commands_are_taken():
    lines = [f"pause {n}" for n in range(1, 40)]
    parsed = parse_commands("", lines)
    assert len(parsed.commands) == MAX_COMMANDS
    assert parsed.dropped == 39 - MAX_COMMANDS


@given(st.text(max_size=200), st.lists(st.text(max_size=100), max_size=20))
def test_parsing_never_raises(subject, lines):
    parsed = parse_commands(subject, lines)
    assert len(parsed.commands) <= MAX_COMMANDS
    for command in parsed.commands:
        for _, value in command.profile:
            assert "\n" not in value and "\r" not in value


# --- one list of commands: the parser, the help email and the README agree -----------------

_EXAMPLES = {"N": "2", "CODE": "abcdefghijklmnopqrstuvwx", "ADDRESS": "bob@example.net",
             "YYYY-MM-DD": "2027-01-31"}  # fmt: skip


def _typed(form: str) -> str:
    return " ".join(_EXAMPLES.get(word, word) for word in form.split())


_FORMS = [(u, form) for u in USAGES for form in (u.form, *u.aliases)]


@pytest.mark.parametrize("usage, form", _FORMS, ids=[f for _, f in _FORMS])
def test_every_documented_form_parses_to_its_command(usage, form):
    typed = _typed(form)
    for parsed in (parse_commands(typed, []), parse_commands("", [typed])):
        assert [c.verb for c in parsed.commands] == [usage.verb], typed
        command = parsed.commands[0]
        assert command.error is None, (typed, command.error)
        assert command.digest_only == ("digest" in form and usage.verb == Verb.join)
        if usage.verb == Verb.digest:
            assert command.on == form.endswith("on")


def test_every_command_word_is_documented():
    documented = {Verb(u.verb) for u in USAGES}
    assert documented == set(Verb)
    assert set(ALIASES) == {f.split()[0] for _, f in _FORMS}


def test_the_readme_table_is_the_list_of_commands():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert usage_table() in readme, "README's email command table is out of date:\n" + (
        usage_table()
    )


@pytest.mark.parametrize("audience", list(Audience))
def test_the_help_email_lists_what_its_reader_can_use(audience):
    state, pairing = {
        Audience.new: ("none", False),
        Audience.left: ("left", False),
        Audience.pending: ("pending", False),
        Audience.member: ("active", True),
        Audience.digest: ("active", False),
    }[audience]
    config = make_config(Path("/nonexistent"))
    member = {"state": state, "pairing": pairing, "email": "a@example.org", "first_name": ""}
    context = {"bot": config.bot.view, "member": member, "unknown": []}
    text = Renderer().render_section("notice/help", context).text
    listed = [line.split("   ")[0].strip() for line in text.splitlines()
              if line.startswith("  ") and "   " in line.strip()]  # fmt: skip
    assert listed == [u.form for u in usages_for(audience)]
    widths = {line.index(u.does) for u in usages_for(audience) for line in text.splitlines()
              if line.endswith(u.does)}  # fmt: skip
    assert len(widths) == 1  # the descriptions line up
    if audience in (Audience.member, Audience.pending):
        assert "join" not in listed


def test_every_command_is_in_some_help_email():
    shown = {u.form for a in Audience for u in usages_for(a)}
    assert shown == {u.form for u in USAGES}


@pytest.mark.parametrize("text", [
    "block Anne Person <anne@example.org>",
    'block "Anne Person" <Anne@Example.org>',
    "block Anne Marie van der Berg <anne@example.org>",
    "block <anne@example.org>",
])  # fmt: skip
def test_block_takes_an_address_as_copied_from_an_intros_to_line(text):
    for parsed in (parse_commands(text, []), parse_commands("", [text])):
        [command] = parsed.commands
        assert (command.verb, command.target, command.error) == (
            Verb.block, "anne@example.org", None)  # fmt: skip


@pytest.mark.parametrize("text", ["block Anne Person", "block anne@example.org bob@example.net"])
def test_block_without_one_clear_address_is_explained(text):
    [command] = parse_commands(text, []).commands
    assert command.error and "needs one email address" in command.error


@pytest.mark.parametrize("subject, verb, on, digest_only", [
    ("Unsubscribe from the digest", Verb.digest, False, False),
    ("stop digest", Verb.digest, False, False),
    ("digest off please", Verb.digest, False, False),
    ("Digest off, thanks", Verb.digest, False, False),
    ("digest on please", Verb.digest, True, False),
    ("subscribe to the digest", Verb.join, True, True),
])  # fmt: skip
def test_digest_phrases_in_the_subject_never_leave_or_flip(subject, verb, on, digest_only):
    [command] = parse_commands(subject, []).commands
    assert (command.verb, command.on, command.digest_only, command.error) == (
        verb, on, digest_only, None)  # fmt: skip


@pytest.mark.parametrize("subject", ["digest", "Digest please"])
def test_a_bare_digest_is_answered_with_the_choices_not_switched_on(subject):
    [command] = parse_commands(subject, []).commands
    assert command.error == 'write "digest on" or "digest off"'


@pytest.mark.parametrize("subject, rounds, target", [
    ("pause 2 please", 2, None), ("block bob@example.net thanks", None, "bob@example.net"),
])  # fmt: skip
def test_arguments_in_the_subject_may_be_followed_by_other_words(subject, rounds, target):
    [command] = parse_commands(subject, []).commands
    assert (command.rounds, command.target, command.error) == (rounds, target, None)
