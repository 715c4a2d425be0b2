"""Membership use cases through the service, with a real SQLite file and in-memory edges."""

from __future__ import annotations

import pytest

from mailbot.outbox import PermanentFailure, TemporaryFailure
from mailbot.render import Renderer
from mailbot.testing import make_mail, make_reply
from tests.helpers import ANNE, BOB, BOT, body, make_world, token_of


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path)
    yield w
    w.store.close()


def join_and_confirm(world, sender=ANNE, address="anne@example.org"):
    world.receive(make_mail(sender, "join"))
    world.receive(make_reply(world.last_to(address), sender, "yes"))
    assert world.state(address) == "active"


def test_join_sends_a_confirmation_with_the_list_headers(world):
    world.receive(make_mail(ANNE, "join", "org: Example Council\nphone: 01632 960000"))
    msg = world.last_to("anne@example.org")
    assert msg["X-Mailbot-Kind"] == "confirm"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["List-Id"] == "UnMentoring <unmentoring.example.org>"
    assert msg["List-Unsubscribe"] == f"<mailto:{BOT}?subject=leave>"
    assert msg["Message-ID"].endswith("@example.org>")
    assert "reply to this email" in body(msg)
    member = world.store.get_member("anne@example.org")
    assert member.state.value == "pending"
    assert (member.name, member.org, member.phone) == (
        "Anne Person",
        "Example Council",
        "01632 960000",
    )


def test_name_and_org_default_to_display_name_and_domain(world):
    world.receive(make_mail("Bob Smith <Bob@Example.NET>", "subscribe"))
    member = world.store.get_member("bob@example.net")
    assert (member.name, member.org) == ("Bob Smith", "example.net")


@pytest.mark.parametrize("quote", [True, False])
def test_replying_to_the_confirmation_activates_and_welcomes(world, quote):
    world.receive(make_mail(ANNE, "join"))
    confirm = world.last_to("anne@example.org")
    world.receive(make_reply(confirm, ANNE, "Yes please", quote=quote))
    assert world.state("anne@example.org") == "active"
    welcome = world.last_to("anne@example.org")
    assert welcome["X-Mailbot-Kind"] == "welcome"
    assert welcome["In-Reply-To"]


def test_reply_without_threading_headers_confirms_by_the_subject_code(world):
    world.receive(make_mail(ANNE, "join"))
    reply = make_reply(world.last_to("anne@example.org"), ANNE, "ok", keep_headers=False)
    world.receive(reply)
    assert world.state("anne@example.org") == "active"


def test_confirm_code_in_a_new_email(world):
    world.receive(make_mail(ANNE, "join"))
    token = token_of(world.last_to("anne@example.org"))
    world.receive(make_mail(ANNE, "", f"Hi,\nconfirm {token}\nthanks"))
    assert world.state("anne@example.org") == "active"


def test_code_confirms_only_the_address_it_was_sent_to(world):
    world.receive(make_mail(ANNE, "join"))
    token = token_of(world.last_to("anne@example.org"))
    world.receive(make_mail(BOB, f"confirm {token}"))
    assert world.state("anne@example.org") == "pending"
    assert world.state("bob@example.net") is None
    assert "different address" in body(world.last_to("bob@example.net"))


def test_a_forwarded_confirmation_reply_from_someone_else_does_not_confirm(world):
    world.receive(make_mail(ANNE, "join"))
    world.receive(make_reply(world.last_to("anne@example.org"), BOB, "me too"))
    assert world.state("anne@example.org") == "pending"
    assert world.state("bob@example.net") is None


def test_expired_code_sends_a_fresh_confirmation(world):
    world.receive(make_mail(ANNE, "join"))
    old = world.last_to("anne@example.org")
    world.clock.advance(days=8)
    world.receive(make_reply(old, ANNE, "sorry, late"))
    assert world.state("anne@example.org") == "pending"
    fresh = world.last_to("anne@example.org")
    assert fresh["X-Mailbot-Kind"] == "confirm"
    assert token_of(fresh) != token_of(old)
    assert "expired" in body(fresh)
    world.receive(make_reply(fresh, ANNE, "ok"))
    assert world.state("anne@example.org") == "active"


def test_code_is_single_use(world):
    join_and_confirm(world)
    token = token_of(world.mail_to("anne@example.org")[0])
    world.receive(make_mail(ANNE, "leave"))
    world.receive(make_mail(ANNE, f"confirm {token}"))
    assert world.state("anne@example.org") == "left"


def test_tokens_are_stored_hashed(world):
    world.receive(make_mail(ANNE, "join"))
    token = token_of(world.last_to("anne@example.org"))
    dump = "\n".join(world.store.db.iterdump())
    assert token not in dump.split('INSERT INTO "outbox"')[0]
    rows = list(world.store.db.query("select token_hash from tokens"))
    assert rows and all(token not in r["token_hash"] for r in rows)


def test_pause_resume_leave_and_status(world):
    join_and_confirm(world)
    world.receive(make_mail(ANNE, "pause 2"))
    member = world.store.get_member("anne@example.org")
    assert (member.state.value, member.pause_rounds) == ("paused", 2)
    assert "next 2 rounds" in body(world.last_to("anne@example.org"))
    world.receive(make_mail(ANNE, "Re: something", "status"))
    assert "paused for 2 more rounds" in body(world.last_to("anne@example.org"))
    world.receive(make_mail(ANNE, "resume"))
    assert world.state("anne@example.org") == "active"
    assert world.store.get_member("anne@example.org").pause_rounds is None
    world.receive(make_mail(ANNE, "unsubscribe"))
    assert world.state("anne@example.org") == "left"
    assert world.last_to("anne@example.org")["X-Mailbot-Kind"] == "notice"


def test_pause_until_a_date_resumes_itself_with_a_notice(world):
    join_and_confirm(world)
    world.receive(make_mail(ANNE, "pause until 2026-11-20"))
    assert world.store.get_member("anne@example.org").paused_until.isoformat() == "2026-11-20"
    assert world.service.resume_due() == 0
    world.clock.advance(days=18)
    assert world.service.resume_due() == 1
    assert world.service.resume_due() == 0
    world.service.send(world.transport)
    assert world.state("anne@example.org") == "active"
    assert "pause has ended" in body(world.last_to("anne@example.org"))


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("pause until 2020-01-01", "not in the future"),
        ("pause 99", "1 to 52 rounds"),
        ("pause until tomorrow", "YYYY-MM-DD"),
    ],
)
def test_bad_pause_arguments_get_a_clear_answer(world, subject, expected):
    join_and_confirm(world)
    world.receive(make_mail(ANNE, subject))
    assert world.state("anne@example.org") == "active"
    assert expected in body(world.last_to("anne@example.org"))


def test_update_changes_the_profile(world):
    join_and_confirm(world)
    world.receive(make_mail(ANNE, "update", "org: New Council\nabout: maps and data"))
    member = world.store.get_member("anne@example.org")
    assert (member.org, member.about) == ("New Council", "maps and data")
    assert "New Council" in body(world.last_to("anne@example.org"))


def test_commands_from_non_members_are_answered_kindly(world):
    world.receive(make_mail(BOB, "pause"))
    assert world.state("bob@example.net") is None
    assert "not a member" in body(world.last_to("bob@example.net"))


def test_several_commands_get_one_reply(world):
    join_and_confirm(world)
    before = len(world.mail_to("anne@example.org"))
    world.receive(make_mail(ANNE, "pause", "status\nhelp"))
    assert len(world.mail_to("anne@example.org")) == before + 1


def test_unknown_mail_gets_help_at_most_three_times_a_day(world):
    for _ in range(5):
        world.receive(make_mail(BOB, "Coffee?", "Is this where I sign up?"))
    replies = world.mail_to("bob@example.net")
    assert len(replies) == 3
    assert "didn't find a command" in body(replies[0])
    world.clock.advance(days=1, seconds=1)
    world.receive(make_mail(BOB, "Coffee?", "hello again"))
    assert len(world.mail_to("bob@example.net")) == 4


def test_replies_per_address_are_capped(world):
    for _ in range(15):
        world.receive(make_mail(BOB, "help"))
    assert len(world.mail_to("bob@example.net")) == 10
    last = body(world.mail_to("bob@example.net")[-1])
    assert "That makes 10 replies to you today" in last.split("-- ")[0]
    assert "That makes" not in body(world.mail_to("bob@example.net")[-2])
    received = world.store.export("bob@example.net")
    assert received is None  # not a member: the reason is in the inbound log instead
    outcomes = [r["outcome"] for r in world.store.db.query("select outcome from inbound")]
    assert outcomes[-1] == "reply withheld: 10 to this address in the last day " \
        "([limits] replies_per_day)"


def test_the_reply_cap_counts_only_answers_to_peoples_own_mail(world):
    """Intros, follow-ups, digests and notices the bot starts never use up a member's
    answers: after a busy day of those, every command still gets its answer."""
    join_and_confirm(world)
    join_and_confirm(world, BOB, "bob@example.net")
    for n in range(12):  # twelve rounds' worth of intros in one day
        world.rounds.run(f"busy {n}", seed=n)
        world.clock.advance(seconds=1)
    world.service.send(world.transport)
    before = len(world.mail_to("anne@example.org"))
    assert before >= 12
    for subject in ("skip next", "status", "block someone", "help", "pause 2", "resume"):
        world.receive(make_mail(ANNE, subject))
    answers = world.mail_to("anne@example.org")[before:]
    assert len(answers) == 6
    assert "needs one email address" in body(answers[2])  # the mistyped block is answered


def test_a_withheld_answer_says_why_in_the_members_export(world):
    join_and_confirm(world)  # confirmation and welcome: two replies
    for _ in range(8):
        world.receive(make_mail(ANNE, "status"))
    world.receive(make_mail(ANNE, "skip next"))
    member = world.store.get_member("anne@example.org")
    assert member.skip_next  # the cap was reached: applied, and the reason kept
    received = world.store.export("anne@example.org")["mail_received"]
    assert received[-1]["verbs"] and received[-1]["outcome"].startswith("reply withheld: 10")
    assert all(r["outcome"].startswith(("notice", "welcome", "confirm")) for r in received[:-1])


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"X-Mailbot-Kind": "notice"},
    ],
)
def test_robots_are_never_answered(world, headers):
    world.receive(make_mail(BOB, "join", headers=headers))
    assert world.transport.sent == []
    assert world.state("bob@example.net") is None


def test_mailer_daemon_and_our_own_mail_are_never_answered(world):
    world.receive(
        make_mail("MAILER-DAEMON@mx.example.net", "Undelivered Mail", "help"),
        make_mail(f"UnMentoring <{BOT}>", "help"),
    )
    assert world.transport.sent == []


@pytest.mark.parametrize("sender, subject, text", [
    # An MTA's notice whose subject reads like a reply (issue #9): known by its text.
    ("Mail Delivery System <mailer@mx.example.net>", "Re: How did it go?",
     "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that "
     "your message could not be delivered to one or more recipients.\n\n"
     "<bob@example.net>: host mx.example.net said: 550 5.1.1 User unknown"),
])  # fmt: skip
def test_failure_notices_with_reply_subjects_are_never_answered(world, sender, subject, text):
    world.receive(make_mail(sender, subject, text))
    assert world.transport.sent == []


def test_a_banner_above_a_command_does_not_hide_it(world):
    banner = ("CAUTION: This email originated from outside of the organisation. Do not click "
              "links or open attachments unless you recognise the sender.")  # fmt: skip
    world.receive(make_mail(ANNE, "", f"{banner}\n\njoin\norg: Example Council"))
    assert world.state("anne@example.org") == "pending"


def test_html_only_mail_is_read(world):
    world.receive(
        make_mail(
            ANNE, "", html="<html><body><div>join</div><div>org: HTML Council</div></body></html>"
        )
    )
    assert world.state("anne@example.org") == "pending"
    assert world.store.get_member("anne@example.org").org == "HTML Council"


def test_odd_charset_profile_is_kept(world):
    msg = make_mail(
        "=?iso-8859-1?q?Ren=E9e_Dupr=E9?= <renee@example.fr>", "join", "org: Mairie de Montréal"
    )
    world.receive(msg.as_bytes().replace(b"utf-8", b"utf-8"))
    member = world.store.get_member("renee@example.fr")
    assert member.name == "Renée Dupré"
    assert member.org == "Mairie de Montréal"


def test_newlines_in_a_name_never_reach_a_header(world):
    raw = (
        b"From: =?utf-8?q?Evil=0D=0ABcc=3A_victim=40example=2Ecom?= <eve@example.org>\r\n"
        b"To: unmentoring@example.org\r\nSubject: join\r\nMessage-ID: <x1@example.org>\r\n"
        b"\r\nname: Eve\r\n"
    )
    world.receive(raw)
    msg = world.last_to("eve@example.org")
    assert msg["Bcc"] is None
    assert all("victim" not in r for _, rcpts, _ in world.transport.sent for r in rcpts)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff garbage",
        b"From: \r\nSubject: join\r\n\r\nhello",
        b"Subject: join\r\n\r\nno sender at all",
        b'From: anne@example.org\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n',
        b"From: anne@example.org\r\nSubject: =?x-unknown?q?join?=\r\nContent-Type: text/plain; "
        b"charset=x-unknown\r\n\r\njoin\xff\xfe\r\n",
    ],
)
def test_malformed_mail_is_handled_and_never_lost(world, raw):
    report = world.receive(raw)
    assert report.processed + report.failed == 1
    assert not world.inbox.waiting


class ExplodingRenderer(Renderer):
    """Fails to render the answer for the people in `victims`, `times` times: a bug met in
    the middle of handling, after the member was already written."""

    def __init__(self, victims: set[str], times: int = 10**6):
        super().__init__()
        self.victims, self.times = victims, times

    def render(self, name, context):
        if context.get("member", {}).get("email") in self.victims and self.times > 0:
            self.times -= 1
            raise RuntimeError("boom")
        return super().render(name, context)


def test_a_message_that_fails_once_is_retried_at_the_next_poll(world, monkeypatch):
    exploding = ExplodingRenderer({"anne@example.org"}, times=1)
    monkeypatch.setattr(world.service.answers, "renderer", exploding)
    report = world.receive(make_mail(ANNE, "join"), make_mail(BOB, "join"))
    assert (report.retrying, report.failed, report.processed) == (1, 0, 1)
    assert list(world.inbox.waiting) == [1] and world.inbox.processed == [2]
    assert world.state("anne@example.org") is None  # rolled back, nothing half-done
    assert world.state("bob@example.net") == "pending"
    report = world.receive()
    assert (report.retrying, report.failed, report.processed) == (0, 0, 1)
    assert world.state("anne@example.org") == "pending"
    assert not world.mail_to("organiser@example.org")


def test_a_poison_message_is_set_aside_after_three_tries_and_admins_told_once(world, monkeypatch):
    monkeypatch.setattr(world.service.answers, "renderer", ExplodingRenderer({"anne@example.org"}))
    world.receive(make_mail(ANNE, "join"), make_mail(BOB, "join"))
    assert world.state("bob@example.net") == "pending"  # the loop went on
    world.receive()
    assert list(world.inbox.waiting) == [1] and not world.inbox.failed
    report = world.receive()
    assert report.failed == 1 and world.inbox.failed == [1] and not world.inbox.waiting
    reasons = [r["reason"] for r in world.store.db.query("select reason from failures")]
    assert reasons == ["RuntimeError: boom"] * 3
    alerts = world.mail_to("organiser@example.org")
    assert len(alerts) == 1
    assert "could not be processed" in alerts[0]["Subject"]
    assert "anne@example.org" in body(alerts[0]) and "RuntimeError: boom" in body(alerts[0])
    assert not world.mail_to("anne@example.org")
    world.receive()  # nothing more happens to it, nor to the admins
    assert len(world.mail_to("organiser@example.org")) == 1


def test_a_message_is_acted_on_once_even_if_seen_again(world):
    msg = make_mail(ANNE, "join")
    world.inbox.deliver(msg)
    items = next(world.inbox.batches(10, 10**6))
    assert world.service.process(items[0]).outcome == "confirm"
    assert world.service.process(items[0]).outcome == "already processed"
    world.receive(msg)  # same Message-ID, new UID (e.g. after a UIDVALIDITY change)
    world.service.send(world.transport)
    assert len(world.mail_to("anne@example.org")) == 1


def test_smtp_outage_keeps_mail_queued_and_sends_it_as_soon_as_the_server_answers(world):
    """Issue #10: after an outage mail waited for each message's own back-off (up to an
    hour); the server failed, not the messages, so they go at the first cycle it answers."""
    world.transport.down = True
    world.receive(make_mail(ANNE, "join"))
    for _ in range(8):  # an outage of several cycles
        world.clock.advance(minutes=5)
        world.service.send(world.transport)
    rows = world.store.outbox_rows()
    assert [(r["status"], r["attempts"]) for r in rows] == [("queued", 0)]
    world.transport.down = False
    assert world.service.send(world.transport).sent == 1
    world.clock.advance(minutes=10)
    assert world.service.send(world.transport).sent == 0
    assert len(world.mail_to("anne@example.org")) == 1


def test_temporary_smtp_errors_back_off_and_eventually_give_up(world):
    world.transport.fail_with = TemporaryFailure("451 try later")
    world.receive(make_mail(ANNE, "join"))
    for _ in range(100):
        world.clock.advance(hours=1)
        world.service.send(world.transport)
    [row] = world.store.outbox_rows()
    assert row["status"] == "failed" and "451" in row["last_error"]


def test_permanent_smtp_error_fails_one_message_not_the_rest(world):
    world.receive(make_mail(ANNE, "join"), make_mail(BOB, "join"))
    world.store.db.execute("update outbox set status = 'queued', next_attempt_at = ''")
    world.transport.sent.clear()

    sent = world.transport.sent
    original = type(world.transport).connect

    class OneBad:
        def __init__(self, conn):
            self.conn = conn

        def send(self, mail_from, rcpts, raw):
            if "anne@example.org" in rcpts:
                raise PermanentFailure("550 no such user")
            return self.conn.send(mail_from, rcpts, raw)

    from contextlib import contextmanager

    @contextmanager
    def connect(self):
        with original(self) as conn:
            yield OneBad(conn)

    type(world.transport).connect = connect
    try:
        world.service.send(world.transport)
    finally:
        type(world.transport).connect = original
    statuses = {r["recipients"]: r["status"] for r in world.store.outbox_rows()}
    assert statuses == {'["anne@example.org"]': "failed", '["bob@example.net"]': "sent"}
    assert len(sent) == 1


def test_oversized_mail_is_set_aside_unread(tmp_path):
    world = make_world(tmp_path, limits={"max_message_bytes": 2000})
    report = world.receive(make_mail(ANNE, "join", "x" * 5000))
    assert report.failed == 1 and world.inbox.failed == [1]
    assert world.state("anne@example.org") is None


def test_send_delivers_everything_due_in_chunks(world):
    for n in range(7):
        world.inbox.deliver(make_mail(f"p{n}@example.org", "help"))
    world.service.poll(world.inbox)
    report = world.service.send(world.transport, limit=3)
    assert report.sent == 7 and len(world.transport.sent) == 7


def test_an_oversized_message_seen_again_after_a_crash_still_goes_to_failed(tmp_path):
    world = make_world(tmp_path, limits={"max_message_bytes": 2000})
    world.inbox.deliver(make_mail(ANNE, "join", "x" * 5000))
    [item] = next(world.inbox.batches(10, 2000))
    assert world.service.process(item).set_aside  # committed, then "crash" before the move
    assert world.service.process(item).set_aside


def test_replying_leave_to_the_confirmation_cancels_instead(world):
    world.receive(make_mail(ANNE, "join"))
    world.receive(make_reply(world.last_to("anne@example.org"), ANNE, "leave"))
    assert world.state("anne@example.org") == "left"
    assert "You've left" in body(world.last_to("anne@example.org"))


def test_long_profile_values_and_too_many_commands_are_explained(world):
    join_and_confirm(world)
    world.receive(
        make_mail(
            ANNE,
            "update",
            "about: "
            + "x" * 300
            + "\n"
            + "\n".join(["status"] * 3 + [f"pause {n}" for n in range(1, 15)]),
        )
    )
    text = body(world.last_to("anne@example.org"))
    assert "about: that is too long" in text
    assert "ignored" in text and "more." in text


def test_later_replies_in_the_confirmation_thread_are_ordinary_mail(world):
    join_and_confirm(world)
    welcome = world.last_to("anne@example.org")  # its References carry the confirmation
    world.receive(make_reply(welcome, ANNE, "pause"))
    paused = world.last_to("anne@example.org")
    assert world.state("anne@example.org") == "paused"
    assert str(paused["Subject"]) == "UnMentoring: paused"
    world.receive(make_reply(paused, ANNE, "leave"))
    world.receive(make_reply(world.last_to("anne@example.org"), ANNE, "join"))
    assert world.state("anne@example.org") == "pending"
    assert world.last_to("anne@example.org")["X-Mailbot-Kind"] == "confirm"


@pytest.mark.parametrize(
    "answer", ["No thanks, I never asked for this. Please remove me.", "Nein danke", "leave"]
)
def test_saying_no_to_the_confirmation_cancels(world, answer):
    world.receive(make_mail(ANNE, "join"))
    world.receive(make_reply(world.last_to("anne@example.org"), ANNE, answer))
    assert world.state("anne@example.org") == "left"


def test_join_in_a_reply_to_the_confirmation_means_one_welcome(world):
    world.receive(make_mail(ANNE, "join"))
    before = len(world.mail_to("anne@example.org"))
    world.receive(make_reply(world.last_to("anne@example.org"), ANNE, "join"))
    assert world.state("anne@example.org") == "active"
    assert [m["X-Mailbot-Kind"] for m in world.mail_to("anne@example.org")[before:]] == ["welcome"]


def test_raw_utf8_display_names_are_read(world):
    raw = (
        "From: José García <jose@example.org>\r\nTo: unmentoring@example.org\r\n"
        "Subject: join\r\nMessage-ID: <u1@example.org>\r\n\r\nhello\r\n"
    ).encode()
    world.receive(raw)
    assert world.store.get_member("jose@example.org").name == "José García"


def test_signature_lines_never_change_the_profile(world):
    join_and_confirm(world)
    world.receive(
        make_mail(
            ANNE,
            "pause",
            "Hi,\n\nKind regards,\nAnne Person\nTel: 01632 960000\nCompany: Example Council Ltd",
        )
    )
    member = world.store.get_member("anne@example.org")
    assert member.state.value == "paused"
    assert (member.phone, member.org) == ("", "example.org")


@pytest.mark.parametrize(
    "sender, headers, subject",
    [
        (BOB, {"Return-Path": "<>"}, "join"),
        (BOB, {}, "Out of Office Reply: join"),
        (BOB, {}, "Abwesenheitsnotiz: join"),
        (BOB, {"X-Loop": BOT}, "join"),
        ("no-reply@example.net", {}, "join"),
        ("Do Not Reply <donotreply@example.net>", {}, "help"),
    ],
)
def test_more_robots_are_never_answered(world, sender, headers, subject):
    world.receive(make_mail(sender, subject, headers=headers))
    assert world.transport.sent == []


@pytest.mark.parametrize("subject", ["status?", '"status"', "\u200bstatus", "Status!"])
def test_subject_commands_with_punctuation_or_invisible_characters(world, subject):
    world.receive(make_mail(BOB, subject))
    assert "not a member" in body(world.last_to("bob@example.net"))


def test_webmail_addresses_get_no_default_org_and_names_read_both_ways(world):
    world.receive(make_mail('"Person, Anne" <anne.person@gmail.com>', "join"))
    member = world.store.get_member("anne.person@gmail.com")
    assert member.org == ""
    assert body(world.last_to("anne.person@gmail.com")).startswith("Hello Anne,")


def test_a_sent_confirmation_keeps_only_the_hash_of_its_code(world):
    world.receive(make_mail(ANNE, "join"))
    token = token_of(world.last_to("anne@example.org"))
    raw = b"".join(r["raw"] or b"" for r in world.store.db.query("select raw from outbox"))
    assert token.encode() not in raw


def test_join_in_subject_and_body_is_one_confirmation(world):
    world.receive(make_mail(ANNE, "join", "join\nname: Anne Person\norg: Example Council"))
    assert len(world.mail_to("anne@example.org")) == 1
    assert len(list(world.store.db.query("select * from tokens"))) == 1
    assert world.store.get_member("anne@example.org").org == "Example Council"


@pytest.mark.parametrize("subject, text", [
    ("Confirm please", ""), ("Confirm", "yes please"), ("confirm", ""), ("Re: hello", "ok"),
    ("Confirm it", "confirm"),
])  # fmt: skip
def test_any_reply_in_the_confirmation_thread_confirms(world, subject, text):
    """Issue #10: "Confirm please" (no code) left one threaded reply in three pending."""
    world.receive(make_mail(ANNE, "join"))
    asked = world.last_to("anne@example.org")
    thread = {"In-Reply-To": str(asked["Message-ID"]), "References": str(asked["Message-ID"])}
    world.receive(make_mail(ANNE, subject, text, headers=thread))
    assert world.state("anne@example.org") == "active"


def test_closing_lines_fit_the_reader(world):
    """Nobody who left or was forgotten is told to send "leave"; members are."""
    join_and_confirm(world)
    assert 'or "leave" to stop at any time' in body(world.last_to("anne@example.org"))
    world.receive(make_mail(ANNE, "leave"))
    left = body(world.last_to("anne@example.org"))
    assert '"leave"' not in left.split("-- ")[-1] and 'Email "join" to come back' in left
    world.receive(make_mail(BOB, "Hello?"))
    assert 'Email "join" to take part' in body(world.last_to("bob@example.net"))
    from tests.helpers import forget_by_email

    join_and_confirm(world, BOB, "bob@example.net")
    forget_by_email(world, BOB, "bob@example.net")
    gone = body(world.last_to("bob@example.net"))
    assert "deleted your profile" in gone and '"leave"' not in gone.split("-- ")[-1]


def test_organisers_can_name_a_person_to_write_to(tmp_path):
    world = make_world(tmp_path, bot={"contact": "Sam Organiser,\r\nBcc: x@evil sam@example.org"})
    world.receive(make_mail(BOB, "Hello?", "Is this the coffee thing?"))
    text = body(world.last_to("bob@example.net"))
    assert "To reach a person: Sam Organiser, Bcc: x@evil sam@example.org." in text
    world.receive(make_mail(BOB, "help"))
    assert "To reach a person: Sam Organiser" in body(world.last_to("bob@example.net"))
    world.store.close()


def test_without_a_contact_line_nothing_is_promised(world):
    world.receive(make_mail(BOB, "Hello?", "Is this the coffee thing?"))
    assert "To reach a person" not in body(world.last_to("bob@example.net"))


def test_unskip_takes_back_a_skip_before_the_round(world):
    join_and_confirm(world)
    world.receive(make_mail(ANNE, "skip next"))
    assert world.store.get_member("anne@example.org").skip_next
    world.receive(make_mail(ANNE, "unskip"))
    assert not world.store.get_member("anne@example.org").skip_next
    assert "you'll be included in the next" in body(world.last_to("anne@example.org"))
    world.receive(make_mail(ANNE, "unskip"))
    assert "weren't sitting out" in body(world.last_to("anne@example.org"))
