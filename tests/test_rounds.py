"""Pairing rounds through the service: who is paired, intros, countdowns, exactly once."""

from __future__ import annotations

import pytest

from mailbot.core.roster import parse_roster
from mailbot.testing import make_mail
from tests.helpers import BOT, body, make_world

PEOPLE = [
    ("Anne Person", "anne@example.org", "Example Council"),
    ("Bob Smith", "bob@example.net", "Example Borough"),
    ("Chloe Jones", "chloe@example.com", "Example County"),
    ("Dan Brown", "dan@example.co.uk", "Example City"),
    ("Erin Green", "erin@example.edu", "Example District"),
]


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.store.close()


def add(world, count: int, **profile: str) -> list[str]:
    rows = "\n".join(f"{email},{name},{org}" for name, email, org in PEOPLE[:count])
    parsed, problems = parse_roster("email,name,org\n" + rows + "\n")
    assert not problems
    added, _ = world.service.import_members(parsed, confirmed=True)
    return added


def intros(world):
    return [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "intro"]


def test_a_round_pairs_everyone_and_sends_one_intro_per_group(world):
    add(world, 4)
    plan = world.rounds.run("2026-11-02T09:00")
    world.service.send(world.transport)
    assert sorted(len(g) for g in plan.groups) == [2, 2]
    sent = intros(world)
    assert len(sent) == 2
    for msg in sent:
        to = [a.addr_spec for a in msg["To"].addresses]
        assert len(to) == 2
        assert [a.addr_spec for a in msg["Reply-To"].addresses] == to
        assert msg["Auto-Submitted"] == "auto-generated"
        text = body(msg)
        assert "30 minutes to think, do and share" in text
        assert "could you make the first move?" in text
        assert text.count("  1. ") == 1 and "  3. " in text
    recipients = sorted(a.addr_spec for m in sent for a in m["To"].addresses)
    assert recipients == sorted(email for _, email, _ in PEOPLE[:4])


def test_the_same_slot_never_runs_twice(world):
    add(world, 4)
    assert world.rounds.run("2026-11-02T09:00") is not None
    assert world.rounds.run("2026-11-02T09:00") is None
    world.service.send(world.transport)
    assert len(intros(world)) == 2
    assert len(list(world.store.db.query("select * from rounds"))) == 1


def test_an_odd_pool_makes_exactly_one_trio(world):
    add(world, 5)
    plan = world.rounds.run("r1")
    assert sorted(len(g) for g in plan.groups) == [2, 3]
    world.service.send(world.transport)
    trio = [m for m in intros(world) if len(m["To"].addresses) == 3]
    assert len(trio) == 1 and "the three of you" in body(trio[0])


def test_one_member_alone_is_told_there_is_no_match(world):
    add(world, 1)
    plan = world.rounds.run("r1")
    world.service.send(world.transport)
    assert plan.groups == () and plan.unmatched == ("anne@example.org",)
    [msg] = world.transport.messages()
    assert "no match this round" in str(msg["Subject"])


def test_contact_details_are_shown_only_when_shared(world):
    add(world, 2)
    world.receive(make_mail("anne@example.org", "update", "phone: 01632 960000"))
    world.transport.sent.clear()
    world.rounds.run("r1")
    world.service.send(world.transport)
    [msg] = intros(world)
    assert "01632 960000" in body(msg)
    assert "skype:" not in body(msg)


def test_pause_n_counts_down_per_round_and_brings_people_back(world):
    add(world, 5)
    world.receive(make_mail("anne@example.org", "pause 2"))
    for slot in ("r1", "r2"):
        plan = world.rounds.run(slot)
        assert "anne@example.org" not in {e for g in plan.groups for e in g}
    assert world.state("anne@example.org") == "active"
    world.service.send(world.transport)
    back = [m for m in world.mail_to("anne@example.org") if "back in" in str(m["Subject"])]
    assert len(back) == 1
    plan = world.rounds.run("r3")
    assert "anne@example.org" in {e for g in plan.groups for e in g}


def test_skip_next_sits_out_one_round_only(world):
    add(world, 4)
    world.receive(make_mail("bob@example.net", "skip next"))
    assert "sit out the next round only" in body(world.last_to("bob@example.net"))
    first = world.rounds.run("r1")
    assert "bob@example.net" not in {e for g in first.groups for e in g}
    second = world.rounds.run("r2")
    assert "bob@example.net" in {e for g in second.groups for e in g}


def test_a_block_is_never_paired_and_never_revealed(world):
    add(world, 2)
    world.receive(make_mail("anne@example.org", "block bob@example.net"))
    assert "They are not told" in body(world.last_to("anne@example.org"))
    plan = world.rounds.run("r1")
    world.service.send(world.transport)
    assert plan.groups == ()
    assert sorted(plan.unmatched) == ["anne@example.org", "bob@example.net"]
    for msg in world.mail_to("bob@example.net"):
        assert "anne" not in body(msg).lower()
    world.receive(make_mail("anne@example.org", "unblock bob@example.net"))
    assert len(world.rounds.run("r2").groups) == 1


def test_nobody_meets_the_same_person_twice_while_someone_new_is_left(world):
    add(world, 4)
    seen = set()
    for slot in ("r1", "r2", "r3"):
        for group in world.rounds.run(slot).groups:
            pair = frozenset(group)
            assert pair not in seen
            seen.add(pair)
    assert len(seen) == 6  # everyone met everyone once


def test_a_dry_run_changes_nothing(world):
    add(world, 4)
    plan = world.rounds.plan("manual", seed=7)
    assert len(plan.groups) == 2
    assert world.rounds.plan("manual", seed=7) == plan  # replayable from the seed
    assert list(world.store.db.query("select * from rounds")) == []
    world.service.send(world.transport)
    assert world.transport.sent == []


def test_the_schedule_starts_at_installation_and_catches_up_once(world):
    add(world, 4)
    assert world.rounds.run_due() is None  # first look: the schedule starts now
    assert world.rounds.run_due() is None  # 2026-11-02 09:00 is the installation moment
    world.clock.advance(days=35)  # past the December slot
    assert world.rounds.run_due() is not None
    assert world.rounds.run_due() is None
    world.clock.advance(days=100)  # three slots missed while down: one round, not three
    assert world.rounds.run_due() is not None
    assert world.rounds.run_due() is None
    assert len(list(world.store.db.query("select * from rounds"))) == 2


def test_a_manual_round_after_the_slot_stands_in_for_the_scheduled_one(world):
    add(world, 4)
    world.rounds.run_due()
    world.clock.advance(days=35)
    world.rounds.run("manual 2026-12-07T10:00:00+00:00")
    assert world.rounds.run_due() is None


def test_import_without_confirmed_sends_a_confirmation_that_says_why(world):
    rows, _ = parse_roster("email,name\nanne@example.org,Anne Person\nbob@example.net,Bob\n")
    added, skipped = world.service.import_members(rows, confirmed=False)
    world.service.send(world.transport)
    assert (len(added), skipped) == (2, [])
    msg = world.last_to("anne@example.org")
    assert msg["X-Mailbot-Kind"] == "confirm"
    assert "added anne@example.org" in body(msg)
    assert world.state("anne@example.org") == "pending"
    again, skipped = world.service.import_members(rows, confirmed=True)
    assert again == [] and len(skipped) == 2


def test_prompts_rotate_between_rounds(world):
    add(world, 2)
    world.rounds.run("r1")
    world.rounds.run("r2")
    world.service.send(world.transport)
    first, second = (body(m) for m in intros(world))
    prompt = world.config.rounds.prompts[0]
    assert prompt in first and prompt not in second


def test_robots_and_outsiders_never_see_intros(world):
    add(world, 2)
    world.rounds.run("r1")
    world.service.send(world.transport)
    for _, rcpts, _ in world.transport.sent:
        assert BOT not in rcpts


def test_the_first_move_rotates(world):
    add(world, 2)
    movers = []
    for slot in ("r1", "r2", "r3", "r4"):
        world.rounds.run(slot)
    rows = world.store.db.query("select first_mover from round_groups order by id")
    movers = [r["first_mover"] for r in rows]
    assert movers.count("anne@example.org") == movers.count("bob@example.net") == 2


def test_three_unanswered_follow_ups_pause_kindly_before_the_next_round(world):
    add(world, 3)
    for _ in range(3):  # three follow-ups asked, none answered
        world.store.count_unanswered(["anne@example.org"])
    plan = world.rounds.run("r1")
    assert "anne@example.org" not in {e for g in plan.groups for e in g}
    assert world.state("anne@example.org") == "paused"
    world.service.send(world.transport)
    msg = world.last_to("anne@example.org")
    assert "paused you" in str(msg["Subject"]) and '"resume"' in body(msg)
    world.receive(make_mail("anne@example.org", "resume"))
    assert world.state("anne@example.org") == "active"
    assert world.store.unresponsive(1) == []


def test_a_reply_all_to_an_intro_that_reaches_us_gets_no_answer(world):
    from mailbot.testing import make_reply

    add(world, 2)
    world.rounds.run("r1")
    world.service.send(world.transport)
    [intro] = intros(world)
    world.transport.sent.clear()
    world.receive(make_reply(intro, "anne@example.org", "Tuesday 10am works for me!"))
    assert world.transport.sent == []


def test_a_manual_round_soon_after_another_is_refused_unless_forced(world, tmp_path):
    add(world, 4)
    world.rounds.run("manual 1")
    assert "round 1 ran on" in world.rounds.too_soon()
    world.clock.advance(days=15)
    assert world.rounds.too_soon() == ""


def test_skip_next_never_outlives_its_round(world):
    add(world, 4)
    world.receive(make_mail("bob@example.net", "skip next"))
    world.receive(make_mail("bob@example.net", "pause"))
    world.rounds.run("r1")
    world.receive(make_mail("bob@example.net", "resume"))
    assert "bob@example.net" in {e for g in world.rounds.run("r2").groups for e in g}


def test_import_skips_people_who_left_and_never_pairs_the_bot(world):
    add(world, 2)
    world.receive(make_mail("anne@example.org", "leave"))
    rows, problems = parse_roster(
        "email\nanne@example.org\nunmentoring@example.org\n", refused={BOT}
    )
    assert problems == ["line 3: unmentoring@example.org is the bot's own address"]
    added, skipped = world.service.import_members(rows, confirmed=True)
    assert (added, skipped) == ([], ["anne@example.org"])
    assert world.state("anne@example.org") == "left"


def test_a_plan_made_ahead_is_the_round_that_runs(tmp_path):
    """The dry run's prediction: the derived seed, the pauses that end today and the members
    about to be paused for silence, exactly as the real round will see them."""
    from dataclasses import replace
    from datetime import date

    from mailbot.core.membership import State
    from mailbot.render import Renderer
    from mailbot.rounds import Rounds

    world = make_world(tmp_path)
    rounds = Rounds(world.config, world.store, Renderer(), world.clock)  # seeds from numbers
    add(world, 5)
    bob = world.store.get_member("bob@example.net")
    world.store.save_member(replace(bob, state=State.paused, paused_until=date(2026, 11, 2)),
                            world.clock.now())  # fmt: skip
    for _ in range(3):  # three follow-ups asked, none answered
        world.store.count_unanswered(["anne@example.org"])
    ahead = rounds.plan("manual", ahead=True)
    assert ahead.resumed == ("bob@example.net",) and ahead.quieted == ("anne@example.org",)
    world.service.resume_due()
    ran = rounds.run("manual")
    assert ran is not None
    assert (ran.seed, ran.groups, ran.unmatched) == (ahead.seed, ahead.groups, ahead.unmatched)
    flat = {e for g in ran.groups for e in g}
    assert "bob@example.net" in flat and "anne@example.org" not in flat
    world.store.close()


def test_people_without_a_name_are_greeted_by_their_address_everywhere(world):
    rows, _ = parse_roster("email\nkim@example.org\nlee@example.net\n")
    world.service.import_members(rows, confirmed=True)
    world.rounds.run("r1", seed=1)
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    for msg in world.transport.messages():
        text = body(msg)
        assert "Hello ," not in text and ("Hello kim" in text or "Hello lee" in text), text[:80]


# --- big rounds: intros and follow-ups in chunks (#13) --------------------------------------


def _many(world, count):
    rows = "".join(f"person{n}@example{n % 4}.org,Person {n},Org {n}\n" for n in range(count))
    parsed, problems = parse_roster("email,name,org\n" + rows)
    assert not problems
    world.service.import_members(parsed, confirmed=True)


def test_a_big_round_never_holds_the_write_lock_while_its_intros_are_queued(world, monkeypatch):
    from mailbot import rounds as rounds_module
    from mailbot.store import SqliteStore

    monkeypatch.setattr(rounds_module, "CHUNK", 2)
    _many(world, 10)
    other = SqliteStore(world.store.path)
    other.db.conn.execute("PRAGMA busy_timeout = 50")  # a `send` beside the round
    seen = []

    def beside(done, total):
        with other.atomic():  # "database is locked" if the round held the lock throughout
            other.set_setting("beside", str(done))
        seen.append((done, total))

    world.rounds.run("r1", progress=beside)
    other.close()
    assert seen == [(2, 5), (4, 5), (5, 5)]
    world.service.send(world.transport)
    assert len(intros(world)) == 5


def test_a_round_stopped_part_way_gets_the_rest_of_its_intros_once(world, monkeypatch):
    from mailbot import rounds as rounds_module

    monkeypatch.setattr(rounds_module, "CHUNK", 2)
    _many(world, 10)
    original = rounds_module.Rounds._send_intro
    calls = []

    def dies_on_the_fourth(self, *args, **kwargs):
        calls.append(args[1])
        if len(calls) == 4:
            raise KeyboardInterrupt  # killed mid-chunk: the groups are committed, not it
        return original(self, *args, **kwargs)

    monkeypatch.setattr(rounds_module.Rounds, "_send_intro", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        world.rounds.run("r1")
    assert world.store.db.execute("select count(*) from outbox where kind = 'intro'"
                                  ).fetchone()[0] == 2  # fmt: skip
    monkeypatch.setattr(rounds_module.Rounds, "_send_intro", original)
    assert world.rounds.run("r1") is None  # the slot has its round: not paired again
    assert world.rounds.finish_intros() == 1
    assert world.rounds.finish_intros() == 0
    world.service.send(world.transport)
    groups = [sorted(str(m["To"]).split(", ")) for m in intros(world)]
    assert len(groups) == 5 and len({tuple(g) for g in groups}) == 5
    everyone = sorted(a for g in groups for a in g)
    assert len(everyone) == len(set(everyone)) == 10


def test_follow_ups_stopped_part_way_ask_nobody_twice(world, monkeypatch):
    from mailbot import learnings as learnings_module

    monkeypatch.setattr(learnings_module, "CHUNK", 2)
    _many(world, 10)
    world.rounds.run("r1")
    original = learnings_module.Learnings._ask
    calls = []

    def dies_on_the_seventh(self, *args, **kwargs):
        calls.append(args[2].email)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(learnings_module.Learnings, "_ask", dies_on_the_seventh)
    with pytest.raises(KeyboardInterrupt):
        world.service.learnings.follow_up_latest()
    monkeypatch.setattr(learnings_module.Learnings, "_ask", original)
    assert world.service.learnings.follow_up_latest() == 6  # 4 asked before the stop
    assert world.service.learnings.follow_up_latest() == 0
    world.service.send(world.transport)
    asked = [str(m["To"]) for m in world.transport.messages() if m["X-Mailbot-Kind"] == "followup"]
    assert len(asked) == len(set(asked)) == 10
    missed = world.store.db.execute("select sum(missed_followups) from members").fetchone()[0]
    assert missed == 10  # each silent member counted once


def test_history_is_streamed_and_a_big_pool_reads_only_the_rounds_that_matter(world, monkeypatch):
    from mailbot import rounds as rounds_module

    _many(world, 4)
    for slot in ("r1", "r2", "r3"):
        world.rounds.run(slot)
    met = list(world.store.meetings(4))
    assert len(met) == 6 and {ago for _, _, ago in met} == {1, 2, 3}
    assert {ago for _, _, ago in world.store.meetings(4, since=2)} == {1}
    read = []
    original = world.store.meetings

    def meetings(number, since=0):
        read.append(since)
        return original(number, since)

    monkeypatch.setattr(world.store, "meetings", meetings)
    world.rounds.plan("r4")
    monkeypatch.setattr(rounds_module, "FULL_HISTORY_BELOW", 4)
    world.rounds.plan("r4")
    assert read == [0, 4 - rounds_module.WINDOW - 2]
