"""Faults and hostile mail with in-memory edges: the hourly cap, bounces, admin trust,
forget and export, oversized mail, UIDVALIDITY changes. (Real servers: test_e2e, test_crash.)"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
from email.message import EmailMessage

import pytest

from mailbot.core.roster import parse_roster
from mailbot.testing import make_mail, make_reply
from tests.helpers import ANNE, BOB, body, forget_by_email, make_world

ADMIN = "organiser@example.org"
_numbers = itertools.count()


def kinds(world, to=None):
    return [m["X-Mailbot-Kind"] for m in world.transport.messages(to)]


def members(world, *emails, confirmed=True):
    text = "email,name\n" + "".join(f"{e},{e.split('@')[0].title()} Person\n" for e in emails)
    rows, problems = parse_roster(text)
    assert not problems
    world.service.import_members(rows, confirmed=confirmed)


# --- the global hourly cap ------------------------------------------------------------


def test_mail_for_more_people_than_the_hourly_cap_goes_alone_in_an_empty_hour(tmp_path):
    world = make_world(tmp_path, limits={"sent_per_hour": 2})
    members(world, "anne@example.org", "bob@example.net", "cat@example.com")
    world.rounds.run("r1")  # one intro to a trio: three recipients, more than the cap
    world.receive(make_mail(ANNE, "status"))
    assert kinds(world) == ["intro"]  # alone: the status reply waits for the next hour
    world.clock.advance(minutes=61)
    world.service.send(world.transport)
    assert kinds(world) == ["intro", "notice"]


def test_the_hourly_cap_holds_mail_back_and_loses_none(tmp_path):
    world = make_world(tmp_path, limits={"sent_per_hour": 3})
    for n in range(5):
        world.inbox.deliver(make_mail(f"p{n}@example.org", "help"))
    world.service.poll(world.inbox)
    report = world.service.send(world.transport)
    assert (report.sent, report.held) == (3, True)
    assert world.service.send(world.transport).sent == 0  # same hour: still capped
    world.clock.advance(minutes=61)
    assert world.service.send(world.transport).sent == 2
    assert sorted(r for _, rcpts, _ in world.transport.sent for r in rcpts) == [
        f"p{n}@example.org" for n in range(5)
    ]


# --- bounces ----------------------------------------------------------------------------


def dsn(original: EmailMessage, recipient: str, status: str = "5.1.1") -> bytes:
    """A standard delivery status notification about ``original`` (RFC 3464)."""
    action = "failed" if status.startswith("5") else "delayed"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: {original['From'].addresses[0].addr_spec}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{next(_numbers)}@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} mailbox unavailable\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {original['From']}\r\nTo: {recipient}\r\n"
        f"Subject: {original['Subject']}\r\nMessage-ID: {original['Message-ID']}\r\n\r\n"
        "--B--\r\n"
    ).encode()


def test_permanent_bounces_on_three_days_pause_the_member_and_tell_admins_once(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net")
    for day in range(4):
        world.receive(make_mail(ANNE, "status"))
        status = world.last_to("anne@example.org")
        report = world.receive(dsn(status, "anne@example.org"), dsn(status, "anne@example.org"))
        assert report.ignored == 2  # a bounce is never answered
        if day < 2:
            assert world.state("anne@example.org") == "active"
        world.clock.advance(days=1)
    assert world.state("anne@example.org") == "paused"
    assert world.store.bounce_days("anne@example.org", "2000-01-01") == 4  # once a day
    alerts = world.mail_to(ADMIN)
    assert len(alerts) == 1 and "keeps bouncing" in str(alerts[0]["Subject"])
    assert "anne@example.org" in body(alerts[0])
    assert world.state("bob@example.net") == "active"
    assert "anne@example.org" not in [email for _, email, _ in world.store.digest_readers()]
    world.receive(make_mail(ANNE, "resume"))  # the address works again
    assert world.state("anne@example.org") == "active"
    assert world.store.bounce_days("anne@example.org", "2000-01-01") == 0


def test_old_bounces_decay_and_delays_do_not_count(tmp_path):
    world = make_world(tmp_path, limits={"bounce_window_days": 10})
    members(world, "anne@example.org")
    for _ in range(4):
        world.receive(make_mail(ANNE, "status"))
        status = world.last_to("anne@example.org")
        world.receive(dsn(status, "anne@example.org"), dsn(status, "anne@example.org", "4.2.2"))
        world.clock.advance(days=6)  # two bounces never fall inside one 10-day window...
    assert world.state("anne@example.org") == "active"  # ...three would be needed


def test_a_forged_bounce_that_names_none_of_our_mail_counts_for_nothing(tmp_path):
    world = make_world(tmp_path, limits={"bounce_threshold": 1})
    members(world, "anne@example.org")
    fake = make_mail(ANNE, "status")  # never sent by us: its Message-ID is not ours
    report = world.receive(dsn(fake, "anne@example.org"))
    assert report.ignored == 1
    assert world.state("anne@example.org") == "active"
    outcome = next(world.store.db.query("select outcome from inbound"))["outcome"]
    assert "not linked to mail we sent" in outcome


def test_a_bounce_about_group_mail_counts_for_nobody(tmp_path):
    """Anne knows the intro's Message-ID too: she could forge Bob's bounce with it."""
    world = make_world(tmp_path, limits={"bounce_threshold": 1})
    members(world, "anne@example.org", "bob@example.net")
    world.rounds.run("r1")
    world.service.send(world.transport)
    [intro] = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "intro"]
    world.receive(dsn(intro, "bob@example.net"))
    assert world.state("bob@example.net") == "active"
    outcome = next(world.store.db.query("select outcome from inbound"))["outcome"]
    assert "for group mail" in outcome and "not counted" in outcome


def test_a_bounce_pause_is_indefinite_even_after_pause_n(tmp_path):
    world = make_world(tmp_path, limits={"bounce_threshold": 1})
    members(world, "anne@example.org", "bob@example.net", "cat@example.com")
    world.receive(make_mail(ANNE, "pause 1"))
    world.receive(dsn(world.last_to("anne@example.org"), "anne@example.org"))
    assert world.state("anne@example.org") == "paused"
    world.rounds.run("r1")
    world.rounds.run("r2")
    assert world.state("anne@example.org") == "paused"  # no countdown brings a dead address back
    groups = [
        e for r in world.store.db.query("select email from group_members") for e in r.values()
    ]
    assert "anne@example.org" not in groups


def test_verp_return_path_ties_a_bare_bounce_to_its_message(tmp_path):
    world = make_world(tmp_path, bot={"verp": True}, limits={"bounce_threshold": 1})
    members(world, "anne@example.org")
    world.receive(make_mail(ANNE, "status"))
    mail_from, _, _ = world.transport.sent[-1]
    assert mail_from.startswith("unmentoring+bounces-") and mail_from.endswith("@example.org")
    bare = (  # a non-standard bounce quoting nothing of the original
        "From: postmaster@mx.example.net\r\n"
        f"To: {mail_from}\r\nSubject: failure notice\r\nMessage-ID: <q1@mx.example.net>\r\n\r\n"
        "Hi. This is the qmail-send program at mx.example.net.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n"
        "<anne@example.org>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"
    ).encode()
    world.receive(bare)
    assert world.state("anne@example.org") == "paused"


def test_smtp_refusing_one_recipient_marks_it_and_delivers_to_the_rest(tmp_path):
    world = make_world(tmp_path, limits={"bounce_threshold": 1})
    members(world, "anne@example.org", "bob@example.net", "cat@example.com")
    world.transport.refuse = {"bob@example.net": "550 5.1.1 no such user",
                              "cat@example.com": "452 4.2.2 mailbox full"}  # fmt: skip
    world.rounds.run("r1")
    world.service.send(world.transport)
    [(_, delivered, _)] = [s for s in world.transport.sent if b"X-Mailbot-Kind: intro" in s[2]]
    assert delivered == ("anne@example.org",)
    assert world.state("bob@example.net") == "paused"  # 5xx: a bounce
    assert world.state("cat@example.com") == "active"  # 4xx: retried on its own
    world.transport.refuse = {}
    world.clock.advance(minutes=5)
    world.service.send(world.transport)
    assert [r for _, r, raw in world.transport.sent if b"Kind: intro" in raw][-1] == (
        "cat@example.com",
    )
    world.clock.advance(hours=2)
    world.service.send(world.transport)  # nobody gets the intro twice
    intro_copies = [r for _, rs, raw in world.transport.sent if b"Kind: intro" in raw for r in rs]
    assert sorted(intro_copies) == ["anne@example.org", "cat@example.com"]


# --- admin commands need the receiving server's word --------------------------------


@pytest.fixture
def digest_world(tmp_path):
    world = make_world(tmp_path, bot={"admin_auth": "dmarc", "authserv_id": "mx.example.org"})
    members(world, "anne@example.org", "bob@example.net")
    world.rounds.run("r1")
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    for person in (ANNE, BOB):
        address = person.split("<")[1][:-1]
        question = next(m for m in world.transport.messages(address)
                        if m["X-Mailbot-Kind"] == "followup")  # fmt: skip
        world.receive(make_reply(question, person, "We learned that maps matter a great deal."))
    world.service.digests.start()
    world.service.send(world.transport)
    world.transport.sent.clear()
    yield world
    world.store.close()


def preview_reply(world, results: list[str]) -> EmailMessage:
    preview = next(m for m in world.service.store.db.query("select * from digests"))
    assert preview["status"] == "preview"
    original = make_mail("unmentoring@example.org", "preview")
    original.replace_header("Message-ID", preview["preview_message_id"])
    reply = make_reply(original, f"Organiser <{ADMIN}>", "approve", quote=False)
    for value in results:
        reply["Authentication-Results"] = value
    return reply


def digests_sent(world):
    return [k for k in kinds(world) if k == "digest"]


@pytest.mark.parametrize(
    "results",
    [
        [],
        ["mx.example.org; dkim=fail header.d=example.org; dmarc=fail header.from=example.org"],
        ["mx.example.org; dkim=pass header.d=attacker.example; dmarc=none"],  # unaligned
        ["mx.attacker.example; dmarc=pass header.from=example.org"],  # another server's word
        # a forged line below the real one: only lines with our authserv-id count
        ["mx.example.org; dmarc=fail header.from=example.org", "evil; dmarc=pass"],
    ],
)
def test_a_forged_admin_approval_does_nothing_and_the_admin_is_told(digest_world, results):
    digest_world.receive(preview_reply(digest_world, results))
    assert not digests_sent(digest_world)
    [notice] = digest_world.mail_to(ADMIN)
    assert "not accepted" in str(notice["Subject"])
    row = next(digest_world.store.db.query("select outcome from inbound order by id desc"))
    assert "admin command not authenticated" in row["outcome"]


def test_an_authenticated_admin_approval_sends_the_digest(digest_world):
    results = (
        "mx.example.org; spf=pass smtp.mailfrom=example.org; dkim=pass (good) "
        "header.d=example.org header.s=s1; dmarc=pass (p=reject) header.from=example.org"
    )
    digest_world.receive(preview_reply(digest_world, [results]))
    assert len(digests_sent(digest_world)) == 2


# --- forget and export ----------------------------------------------------------------


def test_forget_erases_the_person_everywhere_we_hold_them(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net")
    world.receive(make_mail(ANNE, "update", "phone: 01632 960123"))
    world.rounds.run("r1")
    world.transport.down = True  # the intro waits in the outbox
    world.service.send(world.transport)
    world.receive(make_mail(ANNE, "status"))  # a reply to Anne alone, also waiting
    forget_by_email(world, ANNE, "anne@example.org")
    db = world.store.db
    assert world.state("anne@example.org") is None
    assert not list(db.query("select * from events where email = 'anne@example.org'"))
    assert not list(db.query("select * from inbound where sender = 'anne@example.org'"))
    kept = db.query("select kind from outbox o join outbox_recipients r on r.outbox_id = o.id "
                    "where r.email = 'anne@example.org'")  # fmt: skip
    assert [row["kind"] for row in kept] == ["notice"]  # only the goodbye, still to send
    assert not [f for f in world.inbox.filed.values() if b"anne@example.org" in f]
    assert world.store.pending_erasures() == ["anne@example.org"]  # till the goodbye is out
    queued = list(db.query("select kind, status, raw from outbox where status = 'queued'"))
    assert all(b"01632" not in row["raw"] for row in queued if row["kind"] != "intro")
    world.transport.down = False
    world.clock.advance(hours=1)
    world.service.send(world.transport)
    to_anne = [m["X-Mailbot-Kind"] for m in world.transport.messages("anne@example.org")]
    assert to_anne == ["notice", "notice"]  # the queued intro never went out
    assert kinds(world, "bob@example.net") == ["notice"]  # "no match this round"
    sent_raw = list(db.query("select raw from outbox where status = 'sent'"))
    assert all(b"01632" not in row["raw"] for row in sent_raw)  # no copy of her phone is kept
    world.receive()  # the goodbye has gone: the next poll finishes the erasure
    assert not world.store.pending_erasures()
    everything = {t: list(db.query(f"select * from {t}")) for t in db.table_names()}
    assert "anne@example.org" not in json.dumps(everything, default=str)


def test_export_gives_a_person_all_their_data(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net")
    world.receive(make_mail(ANNE, "update", "phone: 01632 960123"))
    world.rounds.run("r1")
    data = world.store.export("anne@example.org")
    assert data is not None
    text = json.dumps(data)
    assert data["member"]["phone"] == "01632 960123"
    assert data["groups"][0]["with_whom"] == "bob@example.net"
    assert "token_hash" not in text
    assert world.store.export("nobody@example.org") is None


# --- oversized mail and UIDVALIDITY -------------------------------------------------------


def test_an_oversized_message_is_set_aside_with_a_polite_reply(tmp_path):
    world = make_world(tmp_path, limits={"max_message_bytes": 2000})
    report = world.receive(make_mail(ANNE, "join", "x" * 5000))
    assert report.failed == 1 and world.inbox.failed == [1]
    [reply] = world.mail_to("anne@example.org")
    assert "too big" in str(reply["Subject"]) and "without attachments" in body(reply)
    world.receive(make_mail("MAILER-DAEMON@example.net", "failure", "x" * 5000))  # robots: no reply
    assert len(world.transport.sent) == 1


def test_an_oversized_message_seen_again_gets_no_second_reply(tmp_path):
    world = make_world(tmp_path, limits={"max_message_bytes": 2000})
    world.inbox.deliver(make_mail(ANNE, "join", "x" * 5000))
    [item] = next(world.inbox.batches(10, 2000))
    world.service.process(item)  # committed, then a crash before the set-aside
    world.inbox.uidvalidity += 1  # and the server renumbered the mailbox
    world.receive()
    assert len(world.mail_to("anne@example.org")) == 1


def test_a_deferred_recipient_who_leaves_just_loses_their_copy(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net", "cat@example.com")
    world.transport.refuse = {"cat@example.com": "452 4.2.2 mailbox full"}
    world.rounds.run("r1")
    world.service.send(world.transport)  # Anne and Bob have the intro; Cat's copy waits
    world.transport.refuse = {}
    world.receive(make_mail("Cat <cat@example.com>", "leave"))
    world.clock.advance(hours=1)
    world.service.send(world.transport)
    assert kinds(world, "anne@example.org") == ["intro"]  # no second intro, no "no match"
    assert kinds(world, "cat@example.com") == ["notice"]
    assert len(list(world.store.db.query("select * from group_members"))) == 3


@pytest.mark.parametrize("with_message_id", [True, False])
def test_a_uidvalidity_change_neither_repeats_nor_misses_a_message(tmp_path, with_message_id):
    world = make_world(tmp_path)
    msg = make_mail(ANNE, "join")
    if not with_message_id:
        del msg["Message-ID"]
    world.inbox.deliver(msg)
    [item] = next(world.inbox.batches(10, 10**6))
    world.service.process(item)  # committed, then a crash before the move
    world.inbox.uidvalidity += 1  # the server renumbered the mailbox
    world.inbox.deliver(make_mail(BOB, "join"))
    report = world.receive()
    assert report.processed == 2 and not world.inbox.waiting
    assert (
        report.outcomes["ignored: duplicate Message-ID"]
        + report.outcomes["ignored: duplicate of a message already processed"]
        == 1
    )
    assert [m["X-Mailbot-Kind"] for m in world.mail_to("anne@example.org")] == ["confirm"]
    assert world.state("bob@example.net") == "pending"


def test_logs_carry_no_message_bodies_or_phone_numbers(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net")
    world.receive(
        make_mail(ANNE, "update", "phone: 01632 960123\nskype: anne.secret.handle"),
        make_mail(BOB, "Hello", "My private musings about the reorganisation"),
    )
    world.rounds.run("r1")
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    question = next(
        m for m in world.transport.messages("anne@example.org") if m["X-Mailbot-Kind"] == "followup"
    )
    world.receive(make_reply(question, ANNE, "We learned a confidential lesson about budgets."))
    text = caplog.text
    assert caplog.records  # something was logged
    for secret in ("01632", "anne.secret.handle", "private musings", "confidential lesson"):
        assert secret not in text


# --- leaving while an intro waits in the outbox ---------------------------------------


def test_leaving_before_the_intro_is_sent_withdraws_it_and_tells_the_partner(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net")
    world.rounds.run("r1")
    world.transport.down = True  # an outage: the intro waits
    world.service.send(world.transport)
    world.receive(make_mail(ANNE, "leave"))
    world.transport.down = False
    world.clock.advance(hours=1)
    world.service.send(world.transport)
    assert kinds(world, "anne@example.org") == ["notice"]  # "you have left", no intro
    [no_match] = world.mail_to("bob@example.net")
    assert "no match" in str(no_match["Subject"])
    assert "Anne" not in body(no_match)
    assert not list(world.store.db.query("select * from round_groups"))
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    assert kinds(world, "bob@example.net") == ["notice"]  # no follow-up for a chat never set up


def test_a_trio_member_forgotten_before_the_intro_leaves_a_pair_intro(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net", "cat@example.com")
    world.receive(make_mail("Cat Person <cat@example.com>", "update", "phone: 01632 960999"))
    world.rounds.run("r1")
    world.transport.down = True
    world.service.send(world.transport)
    forget_by_email(world, "Cat Person <cat@example.com>", "cat@example.com")
    world.transport.down = False
    world.clock.advance(hours=1)
    world.service.send(world.transport)
    intros = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "intro"]
    assert len(intros) == 1
    assert sorted(a.addr_spec for a in intros[0]["To"].addresses) == [
        "anne@example.org",
        "bob@example.net",
    ]
    assert "01632 960999" not in body(intros[0]) and "cat@example.com" not in body(intros[0])
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    followups = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "followup"]
    assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in followups) == [
        "anne@example.org",
        "bob@example.net",
    ]


# --- a message that kills the process -------------------------------------------------


def test_a_message_that_kills_the_process_is_set_aside_after_three_deaths(tmp_path):
    world = make_world(tmp_path)
    world.inbox.deliver(make_mail(BOB, "join"))
    world.inbox.deliver(make_mail(ANNE, "join"))  # the killer, say a decompression bomb
    world.inbox.deliver(make_mail("Cat <cat@example.com>", "join"))
    original = world.service.process

    def die_on_anne(item):
        if b"anne@example.org" in item.raw:
            raise SystemExit("killed")  # what SIGKILL looks like from here: nothing runs after
        return original(item)

    world.service.process = die_on_anne  # type: ignore[method-assign]
    for _ in range(3):
        with pytest.raises(SystemExit):
            world.service.poll(world.inbox)
    assert world.state("bob@example.net") == "pending"  # committed before the first death
    report = world.service.poll(world.inbox)  # the fourth time it is not even tried
    assert report.failed == 1 and world.inbox.failed == [2]
    assert world.state("cat@example.com") == "pending"  # and the rest go on
    world.service.send(world.transport)
    [alert] = world.mail_to(ADMIN)
    assert "the process died while handling it" in body(alert)
    reasons = [r["reason"] for r in world.store.db.query("select reason from failures")]
    assert reasons == ["processing stopped part-way: the process died or was killed"] * 3


def test_forget_while_a_digest_is_going_out_rebuilds_the_copies_still_queued(tmp_path):
    world = make_world(tmp_path, bot={"admins": []}, limits={"sent_per_hour": 2})
    members(world, "anne@example.org", "bob@example.net", "cat@example.com", "dan@example.com")
    world.rounds.run("r1")
    world.service.learnings.follow_up_latest()
    for _ in range(3):  # the cap lets two out an hour
        world.service.send(world.transport)
        world.clock.advance(minutes=61)
    for person in (ANNE, BOB):
        address = person.split("<")[1][:-1]
        [question] = [
            m for m in world.transport.messages(address) if m["X-Mailbot-Kind"] == "followup"
        ]
        text = f"{person.split()[0]} learned that shared spreadsheets need one owner."
        world.receive(make_reply(question, person, text))
        world.clock.advance(minutes=61)
    world.transport.sent.clear()
    world.clock.advance(hours=2)
    world.service.digests.start()
    world.service.send(world.transport)  # two readers have it; two copies wait
    first = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]
    assert len(first) == 2 and "Anne learned" in body(first[0])
    forget_by_email(world, ANNE, "anne@example.org")
    for _ in range(3):
        world.clock.advance(minutes=61)
        world.service.send(world.transport)
    digests = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest"]
    readers = sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in digests)
    assert len(readers) == len(set(readers)) == 4  # each reader once (Anne had hers first)
    later = digests[2:]
    assert all("Anne learned" not in body(m) and "Bob learned" in body(m) for m in later)


def test_a_message_that_failed_cleanly_is_not_blamed_for_a_later_death(tmp_path):
    world = make_world(tmp_path)
    world.inbox.deliver(make_mail(BOB, "join"))  # fails with an exception: kept for a retry
    world.inbox.deliver(make_mail(ANNE, "join"))  # kills the process
    original = world.service.process

    def misbehave(item):
        if b"bob@example.net" in item.raw:
            raise RuntimeError("a bug")
        if b"anne@example.org" in item.raw:
            raise SystemExit("killed")
        return original(item)

    world.service.process = misbehave  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        world.service.poll(world.inbox)
    world.service.process = original  # type: ignore[method-assign]
    world.service.poll(world.inbox)
    reasons = {
        r["uid"]: r["reason"] for r in world.store.db.query("select uid, reason from failures")
    }
    assert reasons == {"1": "RuntimeError: a bug", "2": "processing stopped part-way: the "
                       "process died or was killed"}  # fmt: skip


def test_a_database_error_blames_no_message(tmp_path, monkeypatch):
    world = make_world(tmp_path)
    world.inbox.deliver(make_mail(ANNE, "join"))
    original = world.service.process

    def locked(item):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(world.service, "process", locked)
    for _ in range(4):
        with pytest.raises(sqlite3.OperationalError):
            world.service.poll(world.inbox)
    monkeypatch.setattr(world.service, "process", original)
    world.service.poll(world.inbox)
    assert world.state("anne@example.org") == "pending"
    assert not list(world.store.db.query("select * from failures"))


def test_forgetting_someone_rewrites_a_deferred_intro_copy_for_their_partner(tmp_path):
    world = make_world(tmp_path)
    members(world, "anne@example.org", "bob@example.net", "cat@example.com")
    world.receive(make_mail(ANNE, "update", "phone: 01632 960123"))
    world.transport.refuse = {"cat@example.com": "452 4.2.2 mailbox full"}
    world.rounds.run("r1")
    world.service.send(world.transport)  # Anne and Bob have the intro; Cat's copy waits
    world.transport.refuse = {}
    forget_by_email(world, ANNE, "anne@example.org")
    world.clock.advance(hours=1)
    world.service.send(world.transport)
    [to_cat] = [m for m in world.transport.messages("cat@example.com")]
    assert to_cat["X-Mailbot-Kind"] == "intro"
    assert "01632" not in body(to_cat) and "anne@example.org" not in str(to_cat)
    assert "bob@example.net" in str(to_cat["Reply-To"])


def test_a_phone_number_reaches_only_the_persons_own_group(tmp_path):
    world = make_world(tmp_path, bot={"admins": []})
    people = [f"p{n}@example{n}.org" for n in range(6)]
    members(world, *people)
    world.receive(make_mail("P0 <p0@example0.org>", "update", "phone: 01632 960777"))
    plan = world.rounds.run("r1")
    assert plan is not None
    [group] = [g for g in plan.groups if "p0@example0.org" in g]
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    world.service.digests.start()
    world.service.send(world.transport)
    carrying = [rcpts for _, rcpts, raw in world.transport.sent if b"01632 960777" in raw]
    assert carrying  # the intro
    assert all(set(rcpts) <= set(group) for rcpts in carrying)


def test_forgetting_ann_never_touches_joanns_mail(tmp_path):
    """Outbox keys and alerts are matched by the whole address, never a substring."""
    from mailbot.mailer import alert_admins
    from mailbot.render import Renderer

    world = make_world(tmp_path)
    members(world, "ann@example.org", "joann@example.org")
    world.rounds.run("r1")
    now = world.clock.now()
    context = {"since": "x", "until": "y", "error": "e", "database": "d"}
    for person in ("ann@example.org", "joann@example.org"):
        alert_admins(world.config, world.store, Renderer(), f"bounced:{person}:2026-11-02",
                     "admin_store", context, now, about=person)  # fmt: skip
    db = world.store.db
    before = {r["id"]: (r["key"], r["status"]) for r in db.query("select * from outbox")}
    with world.store.atomic():  # as `mailbot forget` does, while all of it is still queued
        world.service.forget_member("ann@example.org", now, "asked by phone")
    after = {r["id"]: (r["key"], r["status"]) for r in db.query("select * from outbox")}
    about_joann = [i for i, (key, _) in before.items() if "joann@example.org" in key]
    assert about_joann and all(after[i] == before[i] for i in about_joann)
    [alert_about_ann] = [i for i, (key, _) in before.items()
                         if key.startswith("bounced:ann@example.org:")]  # fmt: skip
    assert after[alert_about_ann][1] == "cancelled"
    assert "ann@example.org" not in after[alert_about_ann][0].split(":")


@pytest.mark.parametrize("text, expected", [
    ("550 <ann@example.org>: no such user", "550 <ALIAS>: no such user"),
    ("550 <joann@example.org>: no such user", "550 <joann@example.org>: no such user"),
    ("to ann@example.org.uk failed", "to ann@example.org.uk failed"),
    ("to ANN@example.org. Then", "to ALIAS. Then"),
])  # fmt: skip
def test_an_address_is_replaced_only_whole(text, expected):
    from mailbot.store import replace_address

    assert replace_address(text, "ann@example.org", "ALIAS") == expected
