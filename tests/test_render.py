"""Templates: every one renders with a sample context; composed mail has the right headers."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.digest import Learning, RoundStat, build_digest
from mailbot.core.membership import Member, State, view
from mailbot.render import (
    PACKAGE_TEMPLATES,
    Envelope,
    Rendered,
    Renderer,
    compose,
    compose_bytes,
    personal_lines,
)

# The one view of a person every template gets (mailbot.core.membership.view).
MEMBER = view(Member("anne@example.org", State.paused, name="Anne Person", org="Example Council",
                     skype="anne.p", pause_rounds=2))  # fmt: skip
CONTEXT = {
    "bot": {"name": "UnMentoring", "address": "unmentoring@example.org", "contact": "Sam"},
    "member": MEMBER,
    "example_date": "2026-12-02",
    "detail": "a reason",
    "command": "pause",
    "unknown": ["hello"],
    "profile_changed": True,
    "automatic": False,
    "sections": ["One.", "Two."],
    "footnotes": ["a note"],
    "token": "abcdefghijklmnopqrstuvwx",
    "expires": "Monday 9 November 2026",
    "changes": ["pause", "phone: 01632 960000"],
    "since": "2026-11-02T09:00:00+00:00",
    "until": "2026-11-02T11:00:00+00:00",
    "error": "database or disk is full",
    "database": "mailbot.db",
    "forget": False,
}

PERSON = view(Member("anne@example.org", State.active, name="Anne Person",
                     org="Example Council", about="maps", phone="01632 960000"))  # fmt: skip
CONTEXT.update(
    imported=False,
    target="bob@example.net",
    people=[PERSON, view(Member("bob@example.net", State.active))],
    first_mover=PERSON,
    person=PERSON,
    prompts=["One?", "Two?", "Three?"],
    round=3,
    suggested_week="Monday 9 November",
    followup_date="Monday 16 November",
    next_round="Monday 7 December",
    scheduled=True,
    digest=build_digest(
        [Learning(1, 1, "Maps <b>matter</b>", "public", False, "Anne", "Example Council")],
        [RoundStat(1, 2, 1)],
        new_members=1,
        year=2026,
        issue=1,
    ),
    recipients=3,
    hours=48,
    on_timeout="send",
    review=1,
    others=["Bob"],
    code="1-1-abcd",
    met=True,
    visibility="public",
    learning=True,
    approved=True,
    dropped=[2],
    unknown=[99],
    status="preview",
    sent_at="",
    changed=False,
    attempts=3,
    folder="Failed",
    sender="anne@example.org",
    message_id="<m1@example.org>",
    mailbox="imap:bot@example.org/INBOX",
    uid="7",
    reason="RuntimeError: boom",
    email="anne@example.org",
    name="Anne Person",
    days=3,
    window=30,
    diagnostic="550 5.1.1 no such user",
    also=["Your status: active."],
    reader="member",
)
MEMBER["pairing"] = True


def test_the_digest_html_escapes_peoples_text():
    html = Renderer().render_html("digest", CONTEXT)
    assert "&lt;b&gt;matter&lt;/b&gt;" in html and "<script" not in html
    assert "Vol 2026, Issue 1" in html


EMAILS = sorted(p.stem for p in PACKAGE_TEMPLATES.glob("*.txt") if not p.stem.startswith("_"))
SECTIONS = sorted(f"notice/{p.stem}" for p in (PACKAGE_TEMPLATES / "notice").glob("*.txt"))


@pytest.mark.parametrize("name", EMAILS)
def test_every_email_template_renders(name):
    rendered = Renderer().render(name, CONTEXT)
    assert rendered.text.strip()
    assert "\n-- \n" in rendered.text  # the signature separator survives tidying
    if name != "notice":
        assert rendered.subject


@pytest.mark.parametrize("name", SECTIONS)
def test_every_notice_section_renders(name):
    rendered = Renderer().render_section(name, CONTEXT)
    assert rendered.subject and rendered.text.strip()
    assert rendered.subject not in rendered.text


def test_missing_context_fails_loudly():
    with pytest.raises(Exception, match="undefined"):
        Renderer().render("welcome", {})


def test_compose_sets_every_header_and_keeps_names_in_one_line():
    envelope = Envelope(
        "Unmentoring\r\nBcc: x@example.com",
        "unmentoring@example.org",
        "notice",
        "<1@example.org>",
        datetime(2026, 11, 2, tzinfo=UTC),
        in_reply_to="<a@example.net>",
    )
    msg = compose(
        envelope,
        [("Eve\nBcc: y@example.com", "eve@example.org")],
        Rendered("Hi\nthere", "Body ünïcode\n"),
    )
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Hi there"
    assert msg["X-Mailbot-Kind"] == "notice"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<a@example.net>"
    assert msg["References"] == "<a@example.net>"
    assert msg.get_content() == "Body ünïcode\n"
    assert b"\nBcc:" not in msg.as_bytes()


@pytest.mark.parametrize("subject", [
    "UnMentoring: please approve the digest, December 2026 (Vol 2026, Issue 1)",
    "UnMentoring: how did it go with Anne, Bob and Chloe? [ref 12-3-abcdef] and more words",
    "x" * 100 + " y",
])  # fmt: skip
def test_a_long_subject_reads_back_exactly_without_a_leading_space(subject):
    envelope = Envelope("UnMentoring", "unmentoring@example.org", "notice", "<a@example.org>",
                        datetime(2026, 12, 3, tzinfo=UTC))  # fmt: skip
    raw = compose(envelope, [("", "anne@example.org")], Rendered(subject, "x")).as_bytes()
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 or line.strip().count(b" ") <= 1 for line in head.split(b"\r\n"))
    assert b"Subject:\r\n" not in head
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject


@pytest.mark.parametrize("name", [
    "Anne Person", "", "Zoë Ødegård", 'Anne "the boss" Person', "J. R. Hartley",
    "Bob\r\nBcc: evil@example.net", "=?utf-8?q?=0D=0ABcc:_evil@example.net?=", "x" * 120,
    "Anne, Bob", "Anne <bob@example.net>",
])  # fmt: skip
def test_a_readers_own_lines_read_back_as_one_recipient(name):
    """A shared body's copy carries only its To and Message-ID lines (#13): whatever the
    name, they are two headers, name one address, and add no other header."""
    envelope = Envelope("Bot", "bot@example.org", "digest", "", datetime(2026, 12, 3, tzinfo=UTC),
                        "auto-generated")  # fmt: skip
    shared = compose(envelope, [], Rendered("Digest", "Hello.\n")).as_bytes()
    raw = personal_lines((name, "anne@example.org"), "<1@example.org>") + shared
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == ["anne@example.org"]
    assert msg["Message-ID"] == "<1@example.org>" and msg["Bcc"] is None
    assert sorted(k.lower() for k in msg.keys()).count("to") == 1
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.split(b"\r\n\r\n")[0].isascii()


_NAMES = st.sampled_from(
    [
        "Anne Person",
        "",
        "Bob",
        "Zoë Ødegård",
        'Anne "x" Person',
        "J. Smith",
        "A" * 70,
        "Dr O'Brien-Smith",
        "=?utf-8?q?x?=",
        "Ann\r\nBcc: x@y.z",
    ]
)
_TEXTS = st.sampled_from(
    [
        "Hello\nthere\n",
        "Hi,\n\n-- \nBot\n",
        "a" * 300 + "\n",
        "é\n",
        "x\ry\x0cz\n",
        "tab\there \n",
        "From the start\n.\n",
        "a" * 999 + "\n",
    ]
)
_SUBJECTS = st.sampled_from(["Meet Bob", "", "word " * 30, "Ünïcode", "x" * 100, "=?a?b?c?="])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(_NAMES, st.sampled_from(["anne@example.org", "b@example.net"])),
        min_size=1,
        max_size=3,
    ),
    _SUBJECTS,
    _TEXTS,
    st.booleans(),
    _NAMES,
)
def test_plain_mail_written_directly_is_what_the_email_package_writes(to, subject, text,
                                                                      threaded, bot):  # fmt: skip
    """The fast path (#13) is byte for byte the email package's output, or not taken."""
    envelope = Envelope(bot or "Bot", "bot@example.org", "intro", "<1.2@example.org>",
                        datetime(2026, 12, 3, 9, tzinfo=UTC), "auto-generated",
                        in_reply_to="<a@b>" if threaded else "", references="<c@d>",
                        reply_to=tuple(to) if threaded else ())  # fmt: skip
    rendered = Rendered(subject, text)
    assert compose_bytes(envelope, to, rendered) == compose(envelope, to, rendered).as_bytes()


def test_only_an_html_alternative_takes_the_whole_email_package(monkeypatch):
    import mailbot.render as render

    to = [("Zoë Ødegård", "zoe@example.org"), ("J. Smith", "j@example.net")]
    envelope = Envelope("UnMentoring", "bot@example.org", "intro", "<1.2@example.org>",
                        datetime(2026, 12, 3, 9, tzinfo=UTC), "auto-generated",
                        reply_to=tuple(to))  # fmt: skip
    expected = compose(envelope, to, Rendered("Rencontre: Zoë", "Bonjour Zoë\n")).as_bytes()

    def refuse(*args):
        raise AssertionError("the email package composed a plain email")

    monkeypatch.setattr(render, "compose", refuse)
    assert compose_bytes(envelope, to, Rendered("Rencontre: Zoë", "Bonjour Zoë\n")) == expected
