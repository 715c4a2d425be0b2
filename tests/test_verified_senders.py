"""Nobody acts for someone else (issue #10): a forged From changes nothing by itself.

A change to a membership acts at once only when the receiving server's topmost trusted
Authentication-Results verdict passes for the From domain; otherwise the owner of the address
is asked once and the change waits for their reply. ``forget`` always asks. A sender the
server marks as failing DMARC is never acted for. The world here is an IMAP-mode config (not
``[local]``, where every sender counts as verified).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import parse_config
from mailbot.core.roster import parse_roster
from mailbot.render import Renderer
from mailbot.rounds import Rounds
from mailbot.service import Service
from mailbot.store import SqliteStore
from mailbot.testing import FakeInbox, FixedClock, RecordingTransport, make_mail, make_reply
from tests.helpers import ANNE, World, body, confirm_by_reply, make_world

PASS = "mx.example.org; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org"
FAIL = "mx.example.org; spf=fail smtp.mailfrom=evil.test; dmarc=fail header.from=example.org"
FORGED = "mx.example.org; dmarc=pass header.from=example.org"  # the sender's own words


def remote_world(tmp_path: Path) -> World:
    data = {
        "bot": {"address": "unmentoring@example.org", "name": "UnMentoring",
                "database": "mailbot.db", "admins": ["organiser@example.org"],
                "authserv_id": "mx.example.org"},
        "imap": {"host": "127.0.0.1", "username": "bot", "password": "secret"},
        "smtp": {"host": "127.0.0.1"},
    }  # fmt: skip
    config = parse_config(data, tmp_path / "mailbot.toml", {})
    store = SqliteStore(config.bot.database)
    store.migrate()
    clock = FixedClock()
    seeds = iter(range(1, 10**6))
    rounds = Rounds(config, store, Renderer(), clock, make_seed=lambda: next(seeds))
    service = Service(config, store, Renderer(), clock)
    return World(config, store, service, rounds, FakeInbox(), RecordingTransport(), clock)


@pytest.fixture
def world(tmp_path):
    w = remote_world(tmp_path)
    rows, _ = parse_roster("email,name,org\nanne@example.org,Anne Person,Example Council\n"
                           "bob@example.net,Bob Smith,Example Borough\n")  # fmt: skip
    w.service.import_members(rows, confirmed=True)
    yield w
    w.store.close()


def mail(subject: str, text: str = "", *results: str):
    msg = make_mail(ANNE, subject, text)
    for value in results:  # the first added is the topmost
        msg["Authentication-Results"] = value
    return msg


CHANGES = [
    ("pause", "", lambda w: w.state("anne@example.org") == "paused"),
    ("leave", "", lambda w: w.state("anne@example.org") == "left"),
    ("update", "phone: 07700 900666", lambda w: w.store.get_member("anne@example.org").phone),
    ("digest off", "", lambda w: not w.store.get_member("anne@example.org").digest),
    ("block bob@example.net", "", lambda w: w.store.db["blocks"].count),
    ("skip next", "", lambda w: w.store.get_member("anne@example.org").skip_next),
]


@pytest.mark.parametrize("subject, text, changed", CHANGES, ids=[c[0] for c in CHANGES])
def test_an_unverified_change_waits_for_the_owners_reply(world, subject, text, changed):
    world.receive(mail(subject, text))
    assert not changed(world)
    asked = world.last_to("anne@example.org")
    assert "Please confirm" in str(asked["Subject"])
    assert "did not show that this\none really came from you" in body(asked).replace("\r", "")
    confirm_by_reply(world, ANNE, "anne@example.org")
    assert changed(world)


@pytest.mark.parametrize("subject, text, changed", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_verified_change_acts_at_once(world, subject, text, changed):
    world.receive(mail(subject, text, PASS))
    assert changed(world)


@pytest.mark.parametrize("results", [(FAIL,), (FAIL, FORGED)], ids=["fail", "forged-below"])
def test_a_sender_failing_dmarc_is_never_acted_for_nor_answered(world, results):
    world.transport.sent.clear()
    world.receive(mail("forget", "", *results), mail("pause", "", *results))
    assert world.state("anne@example.org") == "active"
    assert world.transport.sent == []


def test_a_forged_pass_below_another_header_proves_nothing(world):
    world.receive(mail("pause", "", "mx.example.org; none", FORGED))
    assert world.state("anne@example.org") == "active"
    assert "Please confirm" in str(world.last_to("anne@example.org")["Subject"])


def test_forget_always_asks_even_a_verified_sender(world):
    world.receive(mail("forget", "", PASS))
    assert world.state("anne@example.org") == "active"
    asked = world.last_to("anne@example.org")
    assert "deletes your membership and everything you shared" in body(asked)
    confirm_by_reply(world, ANNE, "anne@example.org")
    assert world.state("anne@example.org") is None


def test_no_in_the_thread_cancels_and_the_code_works_once(world):
    world.receive(mail("pause"))
    asked = world.last_to("anne@example.org")
    world.receive(make_reply(asked, ANNE, "No, that wasn't me"))
    assert world.state("anne@example.org") == "active"
    assert "nothing about your membership changed" in body(world.last_to("anne@example.org"))
    world.receive(make_reply(asked, ANNE, "yes"))  # used: an ordinary message now
    assert world.state("anne@example.org") == "active"


def test_confirm_code_in_a_new_email_applies_the_held_change(world):
    world.receive(mail("pause"))
    subject = str(world.last_to("anne@example.org")["Subject"])
    code = subject.rsplit("confirm ", 1)[1].rstrip(")")
    world.receive(make_mail(ANNE, "", f"confirm {code}"))
    assert world.state("anne@example.org") == "paused"


def test_only_the_address_asked_can_confirm(world):
    world.receive(mail("pause"))
    asked = world.last_to("anne@example.org")
    world.receive(make_reply(asked, "Mallory <mallory@example.com>", "yes"))
    assert world.state("anne@example.org") == "active"


def test_an_expired_request_changes_nothing(world):
    world.receive(mail("pause"))
    world.clock.advance(days=8)
    confirm_by_reply(world, ANNE, "anne@example.org")
    assert world.state("anne@example.org") == "active"
    assert "waited too long" in body(world.last_to("anne@example.org"))


def test_read_only_commands_are_answered_at_once(world):
    world.receive(mail("status"))
    assert "Please confirm" not in str(world.last_to("anne@example.org")["Subject"])


def test_one_email_asks_for_all_the_held_changes_and_answers_the_rest(world):
    world.transport.sent.clear()
    world.receive(mail("status", "pause\nupdate\nphone: 07700 900666"))
    [asked] = world.mail_to("anne@example.org")
    assert "Please confirm" in str(asked["Subject"])
    assert "You also asked" in body(asked)  # the status answer rides along
    confirm_by_reply(world, ANNE, "anne@example.org")
    member = world.store.get_member("anne@example.org")
    assert member.state.value == "paused" and member.phone == "07700 900666"


def test_joining_needs_no_verification_it_is_confirmed_by_reply_already(world):
    world.receive(make_mail("Cat Person <cat@example.com>", "join"))
    assert world.state("cat@example.com") == "pending"


def test_limits_outlive_forget(tmp_path):
    """Issue #10: 30 forged join + forget pairs sent 30 mails to one victim in 45 s."""
    world = make_world(tmp_path)
    victim = "Victim <victim@example.net>"
    for _ in range(10):
        world.receive(make_mail(victim, "join"))
        world.service.forget_member("victim@example.net", world.clock.now(), "test")
    confirmations = [m for m in world.mail_to("victim@example.net")
                     if m["X-Mailbot-Kind"] == "confirm"]  # fmt: skip
    assert len(confirmations) == world.config.limits.confirmations_per_day
    rows = list(world.store.db.query("select * from limit_marks"))
    assert rows and all("victim" not in str(row) for row in rows)  # only a keyed hash


def test_a_join_flood_cannot_delay_members_mail(tmp_path):
    """Issue #10: 1,000 forged joins queued 1,000 confirmations ahead of everyone's mail."""
    world = make_world(tmp_path, limits={"joins_per_hour": 20, "sent_per_hour": 60})
    rows, _ = parse_roster("email\nanne@example.org\nbob@example.net\n")
    world.service.import_members(rows, confirmed=True)
    for n in range(200):
        world.inbox.deliver(make_mail(f"victim{n}@example.net", "join"))
    world.service.poll(world.inbox)
    world.rounds.run("r1")  # two intros queued behind the flood
    world.service.send(world.transport)
    kinds = [m["X-Mailbot-Kind"] for m in world.transport.messages()]
    assert kinds.count("confirm") == 20 and kinds.count("intro") >= 1
