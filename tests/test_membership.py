"""The membership state table: every (state, command) has an answer, no move is illegal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.core.commands import TRANSITIONS, Command, Verb, decide
from mailbot.core.membership import Member, State, TokenCheck

TODAY = date(2026, 11, 2)


def member(state: State) -> Member:
    return Member("anne@example.org", state)


@pytest.mark.parametrize(
    "state, verb, new_state, reply",
    [
        (None, Verb.join, State.pending, "confirm"),
        (State.left, Verb.join, State.pending, "confirm"),
        (State.pending, Verb.join, State.pending, "confirm"),
        (State.active, Verb.join, State.active, "notice/already_member"),
        (State.active, Verb.pause, State.paused, "notice/paused"),
        (State.paused, Verb.resume, State.active, "notice/resumed"),
        (State.active, Verb.resume, None, "notice/not_paused"),
        (State.pending, Verb.pause, None, "notice/pending"),
        (None, Verb.leave, None, "notice/not_member"),
        (State.left, Verb.leave, None, "notice/not_member"),
        (State.paused, Verb.leave, State.left, "notice/left"),
        (State.pending, Verb.leave, State.left, "notice/left"),
        (None, Verb.status, None, "notice/status"),
        (State.active, Verb.help, None, "notice/help"),
        (None, Verb.update, None, "notice/not_member"),
    ],
)
def test_moves(state, verb, new_state, reply):
    outcome = decide(member(state) if state else None, Command(verb), TODAY)
    assert (outcome.state, outcome.reply) == (new_state, reply)


@pytest.mark.parametrize(
    "state, check, new_state, reply",
    [
        (State.pending, TokenCheck.ok, State.active, "welcome"),
        (State.pending, TokenCheck.expired, State.pending, "confirm"),
        (State.pending, TokenCheck.other_address, None, "notice/bad_token"),
        (State.pending, TokenCheck.unknown, None, "notice/bad_token"),
        (State.active, TokenCheck.used, None, "notice/already_member"),
        (State.left, TokenCheck.ok, None, "notice/bad_token"),
        (None, TokenCheck.unknown, None, "notice/bad_token"),
    ],
)
def test_confirm(state, check, new_state, reply):
    outcome = decide(
        member(state) if state else None, Command(Verb.confirm, token="x"), TODAY, check
    )
    assert (outcome.state, outcome.reply) == (new_state, reply)


def test_a_pause_date_must_be_in_the_future():
    outcome = decide(member(State.active), Command(Verb.pause, until=TODAY), TODAY)
    assert outcome.reply == "notice/error" and outcome.state is None


commands = st.sampled_from(
    [
        Command(Verb.join),
        Command(Verb.confirm, token="t"),
        Command(Verb.pause),
        Command(Verb.pause, rounds=2),
        Command(Verb.resume),
        Command(Verb.leave),
        Command(Verb.status),
        Command(Verb.update, profile=(("org", "X"),)),
        Command(Verb.help),
    ]
)


@given(st.lists(st.tuples(commands, st.sampled_from(list(TokenCheck))), max_size=30))
def test_any_sequence_of_commands_stays_in_the_table(sequence):
    current: Member | None = None
    for command, check in sequence:
        outcome = decide(current, command, TODAY, check)
        state = current.state if current else None
        if outcome.state is not None:
            legal = TRANSITIONS.get(state, {}).get(command.verb)
            assert outcome.state == legal or (
                command.verb == Verb.confirm and outcome.state in (State.active, State.pending)
            )
            current = replace(current or member(State.pending), state=outcome.state)
        assert current is None or current.state in State
