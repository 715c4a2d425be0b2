"""Hostile and random mail on the inbound path (issue #5), fuzzed under a fixed CI budget.

Whatever arrives, ``poll`` never raises; every message ends processed or set aside exactly once
(and a second poll, or a redelivery after a crash, does nothing new); a message gets at most
one reply, never a robot; no outgoing message carries a header we did not put there; and
people's text in the digest stays text, never markup or a template.
"""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import io
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from mailbot.core.authres import check_sender
from mailbot.core.headers import bounded_headers, bounded_message, referenced_ids
from mailbot.core.roster import parse_roster
from mailbot.outbox import LocalTransport
from mailbot.render import Envelope, Rendered, compose
from mailbot.testing import make_mail, make_reply
from tests.helpers import BOT, World, body, make_world

# A fixed budget for CI: the same examples every run (derandomize, no example database), no
# per-example deadline; the whole file runs in well under 20 s.
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SIZE_LIMIT = 100_000  # [limits] max_message_bytes in the fuzzed world
ROBOT_LOCAL_PARTS = re.compile(r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply)$")
# Every header an outgoing message may have; anything else was injected.
OUR_HEADERS = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references", "reply-to",
    "auto-submitted", "x-auto-response-suppress", "list-id", "list-unsubscribe", "list-help",
    "x-mailbot-kind", "mime-version", "content-type", "content-transfer-encoding",
}  # fmt: skip


@contextmanager
def fresh_world(**sections: dict[str, object]) -> Iterator[World]:
    """A world of its own per example (hypothesis and pytest's tmp_path do not mix)."""
    with tempfile.TemporaryDirectory() as directory:
        world = make_world(Path(directory), **sections)
        try:
            yield world
        finally:
            world.store.close()


# --- hostile pieces of mail ------------------------------------------------------------------


def nested_multipart(depth: int, leaf: bytes) -> tuple[bytes, bytes]:
    """(Content-Type header, body) of multiparts nested ``depth`` deep around one text part."""
    part = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + leaf
    for level in range(depth):
        boundary = b"b%d" % level
        part = b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n%s\r\n--%s--' % (
            boundary, boundary, part, boundary
        )  # fmt: skip
    header, body = part.split(b"\r\n\r\n", 1)
    return header, body


FROM_LINES = [
    b"From: Anne Person <anne@example.org>",
    b"From: bob@example.net",
    b"From: ",
    b"From: <>",
    b"From: Anne Person",
    b"From: " + b", ".join(b"p%d@example.org" % n for n in range(300)),
    b"From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Enet?= <eve@example.org>",
    b"From: =?x-unknown?q?Eve?= <eve@example.org>",
    b"From: =?utf-8?b?!!!not-base64?= <eve@example.org>",
    b"From: Ren\xe9e Dupr\xe9 <renee@example.fr>",
    b'From: "unterminated <anne@example.org>',
    b"From: anne@example.org (comment (nested",
    b"From: \x00anne@example.org",
    b"From: anne@@example..org",
    b"From: MAILER-DAEMON@mx.example.net",
    b"From: No Reply <no-reply@example.net>",
    b"From: =?utf-8?q?chloe=40example=2Ecom=2C?= <postmaster@example.com>",
    b"From: UnMentoring <" + BOT.encode() + b">",
]
OTHER_LINES = [
    b"To: " + BOT.encode(),
    b"To: ",
    b"Subject: join",
    b"Subject: status",
    b"Subject: Re: [list] help",
    b"Subject: =?x-unknown?q?join?=",
    b"Subject: =?utf-8?q?join=0D=0ABcc=3A_victim=40example=2Enet?=",
    b"Subject: \xff\xfejoin",
    b"Subject: join\x00status",
    b"Subject: " + b"join " * 20_000,
    b"Subject: pause until 2099-01-01",
    b"Subject: confirm abcdefghijklmnopqrstuvwx",
    b"Message-ID: <same@example.org>",
    b"Message-ID: <\xff\xfe@example.org>",
    b"Message-ID: <\xc3\xbc@example.org>",
    b"Message-ID: <=?utf-8?q?=0D=0ABcc=3A_victim=40example=2Enet?=@example.org>",
    b"References: =?utf-8?q?=3D=3Futf-8=3Fq=3F=3D0D=3D0ABcc=3D3A=5Fv=3D40example=3D2Enet=3F=3D?=",
    b"Message-ID: ",
    b"Message-ID: <" + b"a" * 3000 + b"@example.org>",
    b"In-Reply-To: <\x00@example.org>",
    b"References: " + b" ".join(b"<r%d@example.org>" % n for n in range(500)),
    b"Date: yesterday-ish",
    b"MIME-Version: 1.0",
    b'Content-Type: text/plain; charset="x-unknown"',
    b"Content-Type: text/plain; charset=utf-7",
    b"Content-Type: text/plain; charset=base64",
    b'Content-Type: text/plain; charset="utf-8',
    b"Content-Type: text/html",
    b"Content-Type: multipart/mixed",
    b'Content-Type: multipart/alternative; boundary="zz"',
    b"Content-Type: message/rfc822",
    b"Content-Type: application/octet-stream",
    b"Content-Type: ;;;===",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Transfer-Encoding: x-uuencode",
    b"Content-Transfer-Encoding: 8bit",
    b"Content-Transfer-Encoding: 7bit; junk",
    b"Content-Disposition: attachment",
    b"Not a header line at all",
    b"  a continuation with nothing to continue",
    b"X-Bad\xff: value",
    b": no name",
    b"X-Long: " + b"x" * 50_000,
    b"X-Nul: \x00\x00\x00",
]
ROBOT_LINES = [
    b"Auto-Submitted: auto-replied",
    b"Auto-Submitted: auto-generated",
    b"Precedence: bulk",
    b"Precedence: list",
    b"List-Id: <team.example.net>",
    b"List-Unsubscribe: <mailto:leave@example.net>",
    b"X-Autoreply: yes",
    b"Return-Path: <>",
    b"X-Loop: " + BOT.encode(),
    b"X-Mailbot-Kind: notice",
]
COMMANDS = [b"join", b"status", b"pause", b"resume", b"help", b"leave", b"skip next",
            b"digest off", b"update", b"block bob@example.net", b"forget"]  # fmt: skip
BODIES = [
    b"",
    b"\r\n",
    b"join",
    b"join\r\nname: Eve\r\nBcc: victim@example.net\r\norg: Evil Corp",
    b"join\r\nname: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Enet?=",
    b"\r\n".join(COMMANDS * 91)[: 1000 * 8],  # about 1,000 commands
    b"\r\n".join([b"status"] * 1000),
    b"join\x00\x00status\x00",
    b"x" * 90_000,  # one huge line, under the size limit
    b"join\r\n" + b"y" * 150_000,  # over the size limit
    b"<html><body><div>join</div><div>org: HTML &amp; Co</div><script>x</script></body></html>",
    b"!!!!====not base64 at all====",
    b"=ZZ=\r\n=\r\njoin=",
    b"\xff\xfe\xfd join \x80\x81",
    "join\u2028name: Eve\u2029Bcc: v@example.net\x85status".encode(),
    b"begin 644 x\r\n#0V%T\r\n`\r\nend",
]
NESTED = [nested_multipart(50, b"join\r\nname: Deep"), nested_multipart(25, b"\xff status")]


@st.composite
def hostile_messages(draw: st.DrawFn, robot: bool = False) -> bytes:
    """A message built from broken, duplicated, missing and hostile pieces. A robot's message
    starts with its marker, kept whole (a following header line shields it from continuations)."""
    kept = [draw(st.sampled_from(ROBOT_LINES)), b"To: " + BOT.encode()] if robot else []
    pool = FROM_LINES + OTHER_LINES + ([] if robot else ROBOT_LINES)
    lines = kept + draw(st.lists(st.sampled_from(pool), max_size=8))
    if draw(st.booleans()):
        header, text = draw(st.sampled_from(NESTED))
        lines.append(header)
    else:
        text = draw(st.sampled_from(BODIES))
    if draw(st.booleans()):  # a little random damage somewhere
        at = draw(st.integers(len(kept), len(lines)))
        lines.insert(at, draw(st.binary(max_size=40)))
    newline = draw(st.sampled_from([b"\r\n", b"\n"]))
    return newline.join(lines) + newline + newline + text


# --- checking what the service did -----------------------------------------------------------


def replies_by_uid(world: World) -> dict[int, list[dict[str, object]]]:
    """Outbox rows queued in answer to each inbound message (keys ``in:<box>:<v>:<uid>:…``)."""
    found: dict[int, list[dict[str, object]]] = {}
    for row in world.store.outbox_rows():
        match = re.fullmatch(r"in:fake:INBOX:1:(\d+):\w+", str(row["key"]))
        if match:
            found.setdefault(int(match.group(1)), []).append(row)
    return found


def poll_and_check(world: World, messages: list[bytes]) -> None:
    """Deliver, poll, and check nothing was lost, doubled, over-answered or sent to a robot."""
    uids = [world.inbox.deliver(raw) for raw in messages]
    report = world.service.poll(world.inbox)

    assert not world.inbox.waiting
    assert report.processed + report.failed == len(messages)
    ended = Counter(world.inbox.processed + world.inbox.failed)
    assert sorted(ended) == uids and set(ended.values()) == {1}
    rows = list(world.store.db.query("select uid from inbound"))
    assert sorted(int(r["uid"]) for r in rows) == uids  # one record each
    failures = [r["reason"] for r in world.store.db.query("select reason from failures")]
    assert failures == []  # set aside only for size, never because handling broke

    replies = replies_by_uid(world)
    for uid, raw in zip(uids, messages, strict=True):
        kinds = sorted(str(r["kind"]) for r in replies.get(uid, []))
        assert len(kinds) <= 1  # one reply at most, whatever the message asked
        for row in replies.get(uid, []):
            assert_not_a_robot(str(row["recipients"]), raw)

    # A second poll, and a redelivery after a "crash" before the move, do nothing new.
    outbox = world.store.outbox_rows()
    again = world.service.poll(world.inbox)
    assert (again.processed, again.failed) == (0, 0)
    where = {uid: uid in world.inbox.failed for uid in uids}
    for uid, raw in zip(uids, messages, strict=True):
        world.inbox.waiting[uid] = raw
    world.inbox.processed.clear()
    world.inbox.failed.clear()
    world.service.poll(world.inbox)
    assert {uid: uid in world.inbox.failed for uid in uids} == where
    assert world.store.outbox_rows() == outbox

    world.service.send(world.transport)
    assert all(row["status"] == "sent" for row in world.store.outbox_rows())
    for mail_from, recipients, raw in world.transport.sent:
        assert_clean_outgoing(mail_from, recipients, raw)


def assert_not_a_robot(recipients_json: str, raw: bytes) -> None:
    for address in re.findall(r'"([^"]+)"', recipients_json):
        local = address.partition("@")[0]
        assert not ROBOT_LOCAL_PARTS.match(local), (address, raw[:300])
        assert address != BOT
        assert address.encode() in raw.lower(), "a reply goes only to an address in the mail"


def assert_clean_outgoing(mail_from: str, recipients: tuple[str, ...], raw: bytes) -> None:
    """Only our headers, each once, CRLF only, and To names exactly the envelope recipients."""
    assert mail_from.endswith("@example.org") and mail_from.startswith("unmentoring")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.count(b"\r") == raw.count(b"\r\n")
    assert head.isascii()
    names = [
        line.split(b":", 1)[0].decode().lower()
        for line in head.split(b"\r\n")
        if not line[:1].isspace()
    ]
    assert set(names) <= OUR_HEADERS, names
    assert len(names) == len(set(names)), names
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert sorted(a.addr_spec for a in msg["To"].addresses) == sorted(recipients)
    assert [a.addr_spec for a in msg["From"].addresses] == [BOT]
    for name in ("Cc", "Bcc"):
        assert msg[name] is None
    assert msg.get_body(("plain",)) is not None


# --- inbound: random bytes and hostile structure ---------------------------------------------


@FUZZ
@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=4))
def test_random_bytes_are_handled_and_never_lost(messages):
    with fresh_world(limits={"max_message_bytes": SIZE_LIMIT}) as world:
        poll_and_check(world, messages)


@FUZZ
@given(st.lists(hostile_messages(), min_size=1, max_size=4))
def test_hostile_messages_are_handled_once_and_answered_at_most_once(messages):
    with fresh_world(limits={"max_message_bytes": SIZE_LIMIT}) as world:
        poll_and_check(world, messages)


@FUZZ
@given(st.lists(hostile_messages(robot=True), min_size=1, max_size=4))
def test_robots_are_never_answered_however_broken_their_mail(messages):
    with fresh_world(limits={"max_message_bytes": SIZE_LIMIT}) as world:
        poll_and_check(world, messages)
        assert world.store.outbox_rows() == []


THOUSAND_PAUSES = b"\r\n".join(b"pause %d" % (n % 52 + 1) for n in range(1000))


@pytest.mark.parametrize(
    "raw, kind, state",
    [
        (b"From: anne@example.org\r\nSubject: status\r\n\r\n" + THOUSAND_PAUSES, "notice", None),
        (b"From: anne@example.org\r\n" + b"\r\n\r\n".join(nested_multipart(10, b"join")),
         "confirm", "pending"),
        # Past 20 levels the walk stops (a guard in core/text.py): help, not a crash.
        (b"From: anne@example.org\r\n" + b"\r\n\r\n".join(nested_multipart(50, b"join")),
         "notice", None),
        (b"From: anne@example.org\r\nContent-Type: text/html\r\n\r\n<p>join</p>", "confirm",
         "pending"),
        (b'From: anne@example.org\r\nContent-Type: text/plain; charset="x-unknown"\r\n\r\njoin',
         "confirm", "pending"),
    ],
    ids=["1000-commands", "nested-10-deep", "nested-50-deep", "html-only", "unknown-charset"],
)  # fmt: skip
def test_hostile_but_readable_mail_gets_its_one_answer(tmp_path, raw, kind, state):
    world = make_world(tmp_path)
    poll_and_check(world, [raw])
    assert world.state("anne@example.org") == state
    assert [m["X-Mailbot-Kind"] for m in world.mail_to("anne@example.org")] == [kind]


def test_an_oversized_message_is_set_aside_unread(tmp_path):
    world = make_world(tmp_path, limits={"max_message_bytes": SIZE_LIMIT})
    poll_and_check(world, [bytes(make_mail(body="join\n" + "y" * SIZE_LIMIT))])
    assert world.inbox.failed == [1]
    assert world.state("anne@example.org") is None


@pytest.mark.parametrize("sender", ["anne@@example..org", "anne@example..org", ".anne@example.org"])
def test_a_from_address_no_reply_could_reach_is_ignored_not_set_aside(tmp_path, sender):
    world = make_world(tmp_path)
    poll_and_check(world, [b"From: " + sender.encode() + b"\r\nSubject: join\r\n\r\njoin"])
    assert world.inbox.processed == [1] and world.store.outbox_rows() == []


def test_a_robot_named_second_in_from_is_never_answered(tmp_path):
    world = make_world(tmp_path)
    world.receive(b"From: Anne, mailer-daemon@example.com\r\nSubject: help\r\n\r\nhelp")
    assert world.store.outbox_rows() == []


def test_join_with_another_command_gets_one_reply(tmp_path):
    world = make_world(tmp_path)
    world.receive(make_mail("Anne Person <anne@example.org>", "join", "status"))
    assert len(world.mail_to("anne@example.org")) == 1


# --- header injection ------------------------------------------------------------------------

LINE_BREAKERS = ["\r\n", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                 "\u2029", "\x00", "\t"]  # fmt: skip
INJECTIONS = [b + "Bcc: victim@example.net" for b in LINE_BREAKERS] + [
    '", victim@example.net, "',
    "Eve <victim@example.net>",
    "=?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Enet?=",
]
hostile_names = st.builds(
    lambda before, injection, after: before + injection + after,
    st.text(max_size=12),
    st.sampled_from(INJECTIONS),
    st.text(max_size=12),
)


def encoded_word(text: str) -> bytes:
    return b"=?utf-8?b?" + base64.b64encode(text.encode()) + b"?="


def join_mail(name: str, address: str) -> bytes:
    """A join with the name in an encoded From and in every profile line."""
    profile = "".join(f"\n{key}: {name}" for key in ("name", "org", "about", "phone"))
    return (
        b"From: " + encoded_word(name) + b" <" + address.encode() + b">\r\n"
        b"To: " + BOT.encode() + b"\r\nSubject: join\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + ("join" + profile).encode()
    )  # fmt: skip


def roster_of(names: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "org"])
    writer.writerows([f"r{n}@example.org", name, name] for n, name in enumerate(names))
    return out.getvalue()


@settings(FUZZ, max_examples=25)  # each example runs a round: the slowest test here
@given(st.lists(hostile_names, min_size=2, max_size=3))
def test_hostile_names_never_become_headers_in_any_email_we_send(names):
    """Names arrive in From, in profile lines and in the roster; they reach To, Reply-To and
    the follow-up's Subject. Every email parses back to exactly the intended recipients."""
    with fresh_world() as world:
        for n, name in enumerate(names):
            world.inbox.deliver(join_mail(name, f"p{n}@example.org"))
        world.service.poll(world.inbox)
        rows, problems = parse_roster(roster_of(names))
        assert not problems
        world.service.import_members(rows, confirmed=True)
        world.rounds.run("r1")
        world.service.learnings.follow_up_latest()
        world.service.send(world.transport)

        kinds = {m["X-Mailbot-Kind"] for m in world.transport.messages()}
        assert {"confirm", "intro", "followup"} <= kinds
        assert {row["status"] for row in world.store.outbox_rows()} == {"sent"}
        for mail_from, recipients, raw in world.transport.sent:
            assert_clean_outgoing(mail_from, recipients, raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: anne@example.org\r\nSubject: status\r\n"
        b"Message-ID: <=?utf-8?q?=0D=0ABcc=3A_victim=40example=2Enet?=@example.org>\r\n\r\nhi",
        b"From: anne@example.org\r\nSubject: status\r\nMessage-ID: <m@example.org>\r\n"
        b"References: <a@example.org> =?utf-8?q?=0D=0ABcc=3A_victim=40example=2Enet?=\r\n\r\nhi",
        b"From: anne@example.org\r\nSubject: join\r\n\r\n"
        b"join\r\nname: =?utf-8?q?Anne=0D=0ABcc=3A_victim=40example=2Enet?=",
    ],
    ids=["message-id", "references", "profile-name"],
)
def test_encoded_words_in_what_we_echo_never_become_header_lines(tmp_path, raw):
    """The email package decodes "=?..?=" again when it writes a header (CVE-2024-6923)."""
    world = make_world(tmp_path)
    world.receive(raw)
    [(mail_from, recipients, sent)] = world.transport.sent
    assert_clean_outgoing(mail_from, recipients, sent)


@pytest.mark.parametrize(
    "long_name", ["Renée Dupré Montréal Montréa", "José García-Fernández Peña"]
)
def test_a_long_non_ascii_name_keeps_every_intro_recipient(long_name):
    """Python before 3.12.5 folds the comma after such a name into an encoded word."""
    to = [(long_name, "renee@example.fr"), ("Bob Smith", "bob@example.net")]
    envelope = Envelope("UnMentoring", BOT, "intro", "<x@example.org>", NOW, reply_to=tuple(to))
    raw = compose(envelope, to, Rendered("meet", "hello\n")).as_bytes()
    assert_clean_outgoing(BOT, ("renee@example.fr", "bob@example.net"), raw)


@FUZZ
@given(st.lists(st.tuples(st.text(max_size=40), st.emails()), min_size=1, max_size=3),
       st.text(max_size=200))  # fmt: skip
def test_compose_keeps_any_name_and_subject_inside_their_headers(to, subject):
    envelope = Envelope("Un\r\nMentoring\u2028", BOT, "notice", "<x@example.org>", NOW,
                        reply_to=tuple(to))  # fmt: skip
    raw = compose(envelope, to, Rendered(subject, "hello\n")).as_bytes()
    assert_clean_outgoing(BOT, tuple(address for _, address in to), raw)
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert [a.addr_spec for a in back["Reply-To"].addresses] == [a for _, a in to]


# --- template injection in learnings ---------------------------------------------------------

HOSTILE_LEARNINGS = [
    "We tried {{ 7*7 }} and {{ bot.address }} in our templates, nothing happened at all.",
    "Loops like {% for x in range(3) %}again{% endfor %} stay as written here, fine.",
    "Our form had <script>alert(1)</script> in it, which we fixed together over coffee.",
    'Images like <img src=x onerror="alert(1)"> and &amp; entities &lt;b&gt; are just text.',
    "Quotes ' and \" and a {# comment #} and {%- raw %} all stay exactly as typed here.",
]


def test_learnings_reach_the_digest_as_text_never_as_markup_or_template(tmp_path):
    world = make_world(tmp_path, digest={"moderation": False})
    roster = "email,name,org\n" + "".join(
        f"p{n}@example.org,Person {n},Org <b>{n}</b>\n" for n in range(len(HOSTILE_LEARNINGS) * 2)
    )
    rows, _ = parse_roster(roster)
    world.service.import_members(rows, confirmed=True)
    world.rounds.run("r1")
    world.service.learnings.follow_up_latest()
    world.service.send(world.transport)
    followups = [m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "followup"]
    for question, text in zip(followups, HOSTILE_LEARNINGS, strict=False):
        [to] = question["To"].addresses
        world.receive(make_reply(question, str(Address(to.display_name, addr_spec=to.addr_spec)),
                                 text))  # fmt: skip
    assert sorted(x["text"] for x in world.store.learnings()) == sorted(HOSTILE_LEARNINGS)
    world.transport.sent.clear()

    world.service.digests.start()
    world.service.send(world.transport)
    digest = next(m for m in world.transport.messages() if m["X-Mailbot-Kind"] == "digest")
    text = body(digest)
    html_part = digest.get_body(("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    for learning in HOSTILE_LEARNINGS:
        assert learning in text
        assert str(escape(learning)) in html
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "49" not in text and "againagain" not in text


# --------------------------------------------------------------------------- bounded parsing
# Issue #10: 200,000 References (4.4 MB) took 164 s; any header now costs linear time.

HUGE_IDS = " ".join(f"<id{i}@example.org>" for i in range(200_000))


@pytest.mark.parametrize("name", ["References", "In-Reply-To", "Content-Type", "Subject",
                                  "Auto-Submitted", "Message-ID", "To"])  # fmt: skip
def test_a_megabyte_header_is_cut_before_parsing(name):
    raw = (f"From: Anne <anne@example.org>\r\nSubject: help\r\n{name}: {HUGE_IDS}\r\n"
           "Message-ID: <m@example.org>\r\n\r\nhelp\r\n").encode()  # fmt: skip
    bounded = bounded_headers(raw)
    assert len(bounded) < 10_000 and bounded.endswith(b"\r\n\r\nhelp\r\n")
    msg = email.message_from_bytes(bounded, policy=email.policy.default)
    if name == "References":
        assert referenced_ids(msg)[-1] == "<id199999@example.org>"  # the newest are kept


def test_a_message_with_huge_headers_is_handled_and_answered(tmp_path):
    world = make_world(tmp_path)
    raw = ("From: Anne <anne@example.org>\r\nTo: unmentoring@example.org\r\nSubject: help\r\n"
           f"Message-ID: <m@example.org>\r\nReferences: {HUGE_IDS}\r\n"
           f"In-Reply-To: {HUGE_IDS[:100_000]}\r\n\r\nhelp\r\n").encode()  # fmt: skip
    world.receive(raw)
    [reply] = world.mail_to("anne@example.org")
    assert len(str(reply["References"])) < 2_000


def test_thousands_of_mime_parts_are_cut_before_parsing(tmp_path):
    """The email package takes seconds for thousands of parts and recurses into nested ones
    until Python gives up; no person's reply has them."""
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(5000))
    raw = ("From: Anne <anne@example.org>\r\nSubject: help\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + "--b--\r\n").encode()
    nested = ("From: Anne <anne@example.org>\r\nSubject: help\r\n" + "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(20000)
    ) + "help\r\n").encode()  # fmt: skip
    for message in (raw, nested):
        assert bounded_message(message).count(b"\n--") <= 400
    world = make_world(tmp_path)
    world.receive(raw, nested)
    assert len(world.mail_to("anne@example.org")) == 2  # both answered, neither set aside


# --------------------------------------------------------------------------- issue #10 shapes

path_parts = st.lists(st.sampled_from(["..", ".", "/", "x", "dev", "null", "~", "%2f", "-", "_"]),
                      min_size=1, max_size=6).map("".join)  # fmt: skip


@FUZZ
@given(path_parts)
def test_path_like_senders_never_reach_outside_the_mail_folder(local):
    """Whatever the local part, the bot's answer lands inside [local] maildir or nowhere."""
    with fresh_world() as world:
        root = world.config.local.maildir
        world.receive(make_mail(f"x <{local}@example.org>", "help"))
        world.service.send(LocalTransport(root))
        outside = [p for p in root.parent.rglob("*") if not p.is_relative_to(root)
                   and p.name not in ("mailbot.db", "mailbot.db-wal", "mailbot.db-shm",
                                      "mailbot.db.lock", "mailbot.toml")]  # fmt: skip
        assert outside == []


verdicts = st.lists(st.sampled_from([
    "mx.example.org; dmarc=pass header.from=example.org",
    "mx.example.org; dmarc=fail header.from=example.org",
    "mx.example.org; dkim=pass header.d=example.org",
    "mx.example.org; none",
    "evil.test; dmarc=pass header.from=example.org",
]), max_size=4)  # fmt: skip


@FUZZ
@given(verdicts)
def test_only_the_topmost_trusted_verdict_decides(headers):
    """Whatever the sender stacks below, the topmost header with the trusted id decides."""
    msg = make_mail("Anne <anne@example.org>", "pause")
    for value in headers:
        msg["Authentication-Results"] = value
    trusted = [h for h in headers if h.startswith("mx.example.org;")]
    expected = bool(trusted) and "dmarc=pass" in trusted[0]
    check = check_sender(msg, "example.org", "dmarc", "mx.example.org")
    assert check.verified is expected
    assert check.failing is (bool(trusted) and "dmarc=fail" in trusted[0])


@settings(FUZZ, max_examples=10)
@given(st.integers(min_value=5, max_value=60))
def test_a_flood_of_joins_queues_at_most_the_hourly_budget(count):
    with fresh_world(limits={"joins_per_hour": 4}) as world:
        world.receive(*[make_mail(f"v{n}@example.net", "join") for n in range(count)])
        kinds = [m["X-Mailbot-Kind"] for m in world.transport.messages()]
        assert kinds.count("confirm") == 4
