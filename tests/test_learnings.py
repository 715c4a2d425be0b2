"""Follow-ups after a round and what replies to them capture (service level, real SQLite)."""

from __future__ import annotations

import pytest

from mailbot.core.roster import parse_roster
from mailbot.testing import make_reply
from tests.helpers import body, forget_by_email, make_world

ANNE = "Anne Person <anne@example.org>"


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    rows, _ = parse_roster(
        "email,name,org\nanne@example.org,Anne Person,Example Council\n"
        "bob@example.net,Bob Smith,Example Borough\n"
    )
    w.service.import_members(rows, confirmed=True)
    w.rounds.run("r1")
    w.service.send(w.transport)
    w.transport.sent.clear()
    yield w
    w.store.close()


def met_of_groups(world) -> list[bool | None]:
    """What is recorded for each group of the latest round: met, not met, or not known."""
    latest = world.store.latest_round()
    return [world.store.group_met(g.id) for g in world.store.groups_of_round(latest.id)]


def followups(world):
    return [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "followup"]


def test_follow_ups_go_out_once_after_the_configured_days(world):
    assert world.service.learnings.send_due_followups() == 0
    world.clock.advance(days=7)
    assert world.service.learnings.send_due_followups() == 2
    assert world.service.learnings.send_due_followups() == 0
    world.service.send(world.transport)
    sent = followups(world)
    assert len(sent) == 2
    anne = next(m for m in sent if "anne@example.org" in str(m["To"]))
    assert "how did it go with Bob?" in str(anne["Subject"]) and "[ref 1-1-" in str(anne["Subject"])
    text = body(anne)
    assert "first name and organisation" in text and '"private"' in text and '"skip"' in text
    assert world.store.get_member("anne@example.org") is not None


def test_mailbot_followup_sends_the_latest_rounds_now_and_only_once(world):
    assert world.service.learnings.follow_up_latest() == 2
    assert world.service.learnings.follow_up_latest() == 0
    world.clock.advance(days=8)
    assert world.service.learnings.send_due_followups() == 0


def ask(world):
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    return next(m for m in followups(world) if "anne@example.org" in str(m["To"]))


def test_a_reply_with_learnings_is_stored_and_thanked(world):
    question = ask(world)
    world.receive(
        make_reply(
            question,
            ANNE,
            "We compared how our councils run user research.\nI will try their recruitment panel.",
        )
    )
    [learning] = world.store.learnings()
    assert learning["text"].startswith("We compared how our councils run user research.")
    assert "recruitment panel" in learning["text"]
    assert "wrote:" not in learning["text"] and ">" not in learning["text"]
    assert learning["visibility"] == "public" and not learning["needs_review"]
    assert "next digest under your first name" in body(world.last_to("anne@example.org"))
    assert met_of_groups(world) == [True]


@pytest.mark.parametrize("answer, met", [("skip", 0), ("We didn't meet.", 0), ("Yes!", 1)])
def test_short_answers_are_outcomes_not_learnings(world, answer, met):
    world.receive(make_reply(ask(world), ANNE, answer))
    assert world.store.learnings() == []
    assert met_of_groups(world) == [bool(met)]


@pytest.mark.parametrize("flag, visibility", [("private", "private"), ("Anonymous", "anonymous")])
def test_private_and_anonymous(world, flag, visibility):
    world.receive(make_reply(ask(world), ANNE, f"{flag}\nWorking in the private sector helped."))
    [learning] = world.store.learnings()
    assert learning["visibility"] == visibility
    assert learning["text"] == "Working in the private sector helped."


def test_the_subject_code_matches_when_threading_headers_are_gone(world):
    question = ask(world)
    world.receive(make_reply(question, ANNE, "Lots learned about open data.", keep_headers=False))
    assert len(world.store.learnings()) == 1


def test_someone_else_replying_to_my_follow_up_is_not_my_learning(world):
    question = ask(world)
    world.receive(make_reply(question, "Eve <eve@example.com>", "Injected learning text here."))
    assert world.store.learnings() == []


def test_a_reply_all_to_the_intro_after_the_follow_up_counts(world):
    intro = (
        next(m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "intro")
        if world.transport.sent
        else None
    )
    world.rounds.run("r2")  # a fresh round so we hold its intro
    world.service.send(world.transport)
    intro = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "intro"][-1]
    world.receive(make_reply(intro, ANNE, "Tuesday at 10 works for me"))
    assert world.store.learnings() == []  # arranging the chat, before the follow-up
    world.service.learnings.follow_up_latest()
    world.receive(make_reply(intro, ANNE, "Great chat: we will share our service patterns."))
    assert [x["text"] for x in world.store.learnings()] == [
        "Great chat: we will share our service patterns."
    ]


def test_robots_answering_a_follow_up_are_never_learnings(world):
    question = ask(world)
    reply = make_reply(question, ANNE, "I am out of the office until Monday.")
    reply["Auto-Submitted"] = "auto-replied"
    world.receive(reply)
    assert world.store.learnings() == []


def test_commands_in_reply_to_a_follow_up_are_still_commands(world):
    world.receive(make_reply(ask(world), ANNE, "pause", quote=False))
    assert world.state("anne@example.org") == "paused"
    assert world.store.learnings() == []


def test_answering_resets_the_unanswered_count(world):
    ask(world)
    assert world.store.get_member("anne@example.org") is not None
    assert "anne@example.org" in [m.email for m in world.store.unresponsive(1)]
    world.receive(make_reply(followups(world)[0], ANNE, "yes"))
    assert "anne@example.org" not in [m.email for m in world.store.unresponsive(1)]


def test_forget_erases_profile_and_learnings(world):
    world.receive(make_reply(ask(world), ANNE, "Something worth sharing about maps."))
    forget_by_email(world, ANNE, "anne@example.org")
    assert world.store.get_member("anne@example.org") is None
    assert world.store.learnings() == []
    assert "deleted your profile" in body(world.last_to("anne@example.org"))


def test_a_later_bare_private_hides_the_earlier_learning(world):
    question = ask(world)
    world.receive(make_reply(question, ANNE, "We learned a great deal about maps and data."))
    world.receive(make_reply(question, ANNE, "private", quote=False))
    [learning] = world.store.learnings()
    assert learning["visibility"] == "private"
    assert "now private" in body(world.last_to("anne@example.org"))


def test_very_short_notes_are_kept_but_flagged(world):
    world.receive(make_reply(ask(world), ANNE, "Sorry, Bob was ill."))
    [learning] = world.store.learnings()
    assert learning["needs_review"] and "too short" in learning["reason"]


def test_skip_next_in_reply_to_a_follow_up_is_a_command(world):
    world.receive(make_reply(ask(world), ANNE, "skip next", quote=False))
    assert world.store.learnings() == []
    assert world.store.get_member("anne@example.org").skip_next


def test_a_group_met_if_anyone_says_so(world):
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    anne_q, bob_q = sorted(followups(world), key=lambda m: str(m["To"]))
    world.receive(make_reply(anne_q, ANNE, "We met and talked about procurement rules."))
    world.receive(make_reply(bob_q, "Bob Smith <bob@example.net>", "skip"))
    assert met_of_groups(world) == [True]


# --------------------------------------------------------------------------- what gets published
# The three leaks issue #9 found in a digest preview, each through the whole service.

SIGNATURE = (
    "Anne Person\nHead of Digital | Example Council\nTel: 01632 960 123 | Mob: 07700 900 123\n\n"
    "This email and any attachments are confidential and intended solely for the addressee. "
    "If you have received it in error please notify the sender."
)


def test_a_council_signature_and_disclaimer_are_not_stored(world):
    text = f"We compared how our councils run user research.\n\nKind regards,\n\n{SIGNATURE}"
    world.receive(make_reply(ask(world), ANNE, text))
    [learning] = world.store.learnings()
    assert learning["text"] == "We compared how our councils run user research."
    assert not learning["needs_review"]


@pytest.mark.parametrize("closing", ["Cheers,\nAnne", "Anne", "Thanks, Anne", "Diolch yn fawr"])
def test_an_anonymous_learning_loses_its_closing(world, closing):
    text = f"anonymous\nPairing with another council showed us how to run retros.\n\n{closing}"
    world.receive(make_reply(ask(world), ANNE, text))
    [learning] = world.store.learnings()
    assert learning["visibility"] == "anonymous"
    assert learning["text"] == "Pairing with another council showed us how to run retros."


@pytest.mark.parametrize("text, reason", [
    ("Ring Bob on 07700 900123 about the maps, he is happy to help.", "phone number"),
    ("Bob (bob@example.net) will share his slides about service maps.", "email address"),
])  # fmt: skip
def test_private_details_left_in_the_text_hold_the_learning(world, text, reason):
    world.receive(make_reply(ask(world), ANNE, text))
    [learning] = world.store.learnings()
    assert learning["needs_review"] and reason in learning["reason"]


def test_an_anonymous_writer_who_names_themself_is_held(world):
    text = "anonymous\nAs Anne from the council I found the pairing useful for planning."
    world.receive(make_reply(ask(world), ANNE, text))
    [learning] = world.store.learnings()
    assert learning["needs_review"] and "anonymous" in learning["reason"]


@pytest.mark.parametrize("tail", ["Cheers,\nAnonymous", "Thanks!\n\nanonymous", "Anonymous"])
def test_a_flag_at_the_end_is_never_lost_with_the_closing(world, tail):
    text = f"Pairing with another council showed us how to run retros.\n\n{tail}"
    world.receive(make_reply(ask(world), ANNE, text))
    [learning] = world.store.learnings()
    assert learning["visibility"] == "anonymous"


def test_a_flag_under_the_last_quote_of_an_inline_reply_is_kept(world):
    question = ask(world)
    text = ("> What did you learn?\n\nBob showed me how their panel recruits residents.\n\n"
            "> Reply private or anonymous\n\nThanks,\n(anonymous)")  # fmt: skip
    world.receive(make_reply(question, ANNE, text, quote=False))
    [learning] = world.store.learnings()
    assert learning["visibility"] == "anonymous"


def test_a_later_anonymous_rechecks_the_earlier_learning(world):
    question = ask(world)
    world.receive(make_reply(question, ANNE, "Great chat about open data with Bob.\nAnne :)"))
    world.receive(make_reply(question, ANNE, "anonymous", quote=False))
    [learning] = world.store.learnings()
    assert learning["visibility"] == "anonymous" and learning["needs_review"]


@pytest.mark.parametrize("recorded, said, expected", [
    (None, True, True), (None, False, False), (True, False, True), (False, True, True),
])  # fmt: skip
def test_a_group_met_if_anyone_in_it_says_so(recorded, said, expected):
    from mailbot.core.learnings import group_met

    assert group_met(recorded, said) is expected
