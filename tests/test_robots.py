"""Tests for mailbot.core.robots: telling people from auto-responders, bounces and lists."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.robots import Sender, Verdict, classify

OWN = frozenset({"coffee@example.org", "Bot@Example.org"})


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def message(*headers: str, body: str = "join\n", content_type: str = "text/plain") -> EmailMessage:
    """A small message; `headers` may override From and Subject."""
    names = {header.split(":", 1)[0].lower() for header in headers}
    lines = list(headers)
    if "from" not in names:
        lines.append("From: Anne <anne@example.net>")
    if "subject" not in names:
        lines.append("Subject: Re: your coffee match")
    lines += ["To: coffee@example.org", f"Content-Type: {content_type}"]
    return parse(("\r\n".join(lines) + "\r\n\r\n" + body).encode())


def report(report_type: str, status_type: str, *headers: str) -> EmailMessage:
    body = (
        "--RR\r\nContent-Type: text/plain\r\n\r\nSomething happened.\r\n"
        f"--RR\r\nContent-Type: {status_type}\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
        "--RR\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\n--RR--\r\n"
    )
    kind = f'multipart/report; report-type={report_type}; boundary="RR"'
    return message(*headers, body=body, content_type=kind)


def mixed_with(status_type: str) -> EmailMessage:
    body = (
        "--MM\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        f"--MM\r\nContent-Type: {status_type}\r\n\r\nAction: failed\r\n--MM--\r\n"
    )
    return message(body=body, content_type='multipart/mixed; boundary="MM"')


CASES = [
    # own
    ("own: X-Mailbot-Kind", message("X-Mailbot-Kind: notice"), Sender.own),
    ("own: From", message("From: Coffee <coffee@example.org>"), Sender.own),
    ("own: From case-insensitive", message("From: COFFEE@EXAMPLE.ORG"), Sender.own),
    ("own: mixed-case set", message("From: bot@example.org"), Sender.own),
    (
        "own beats auto-reply",
        message("From: coffee@example.org", "Auto-Submitted: auto-replied"),
        Sender.own,
    ),
    # bounce
    ("bounce: DSN report", report("delivery-status", "message/delivery-status"), Sender.bounce),
    (
        "bounce: quoted report-type",
        report('"delivery-status"', "message/delivery-status"),
        Sender.bounce,
    ),
    ("bounce: DSN part in mixed", mixed_with("message/delivery-status"), Sender.bounce),
    ("bounce: global DSN part", mixed_with("message/global-delivery-status"), Sender.bounce),
    (
        "bounce: mailer-daemon",
        message("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>"),
        Sender.bounce,
    ),
    ("bounce: bare MAILER-DAEMON", message("From: MAILER-DAEMON"), Sender.bounce),
    ("bounce: MAILER_DAEMON", message("From: MAILER_DAEMON@mx.example.net"), Sender.bounce),
    ("bounce: postmaster", message("From: Postmaster@example.net"), Sender.bounce),
    ("bounce: X-Failed-Recipients", message("X-Failed-Recipients: bob@example.net"), Sender.bounce),
    (
        "bounce: Return-Path daemon",
        message("Return-Path: <MAILER-DAEMON@mx.example.net>"),
        Sender.bounce,
    ),
    (
        "bounce beats Auto-Submitted",
        message("From: mailer-daemon@mx.example.net", "Auto-Submitted: auto-replied"),
        Sender.bounce,
    ),
    # feedback
    ("feedback: ARF", report("feedback-report", "message/feedback-report"), Sender.feedback),
    (
        "feedback: ARF from postmaster",
        report("feedback-report", "message/feedback-report", "From: postmaster@isp.example"),
        Sender.feedback,
    ),
    ("feedback: part in mixed", mixed_with("message/feedback-report"), Sender.feedback),
    # auto_reply
    (
        "auto: Auto-Submitted auto-replied",
        message("Auto-Submitted: auto-replied"),
        Sender.auto_reply,
    ),
    (
        "auto: Auto-Submitted auto-generated",
        message("Auto-Submitted: auto-generated; owner=x"),
        Sender.auto_reply,
    ),
    ("auto: X-Autoreply", message("X-Autoreply: yes"), Sender.auto_reply),
    ("auto: X-Autorespond", message("X-Autorespond: vacation"), Sender.auto_reply),
    ("auto: Precedence auto_reply", message("Precedence: auto_reply"), Sender.auto_reply),
    ("auto: X-Precedence auto_reply", message("X-Precedence: auto_reply"), Sender.auto_reply),
    (
        "auto beats bulk",
        message("Auto-Submitted: auto-replied", "Precedence: bulk"),
        Sender.auto_reply,
    ),
    # mailing_list
    ("list: Precedence bulk", message("Precedence: bulk"), Sender.mailing_list),
    ("list: Precedence junk", message("Precedence: junk"), Sender.mailing_list),
    ("list: Precedence list", message("Precedence: LIST"), Sender.mailing_list),
    ("list: List-Id", message("List-Id: News <news.example.net>"), Sender.mailing_list),
    (
        "list: List-Unsubscribe",
        message("List-Unsubscribe: <mailto:u@example.net>"),
        Sender.mailing_list,
    ),
    # human
    ("human: plain", message(), Sender.human),
    ("human: Auto-Submitted no", message("Auto-Submitted: no"), Sender.human),
    ("human: Precedence first-class", message("Precedence: first-class"), Sender.human),
    (
        "human: X-Auto-Response-Suppress alone",
        message("X-Auto-Response-Suppress: All"),
        Sender.human,
    ),
    (
        "human: Exchange rules loop alone",
        message("X-MS-Exchange-Inbox-Rules-Loop: a@b.c"),
        Sender.human,
    ),
    (
        "human: body says out of office",
        message(body="I'm out of office next week.\nOut of Office: pause\n"),
        Sender.human,
    ),
    (
        "human: subject mentions out of office",
        message("Subject: Re: out of office next week?"),
        Sender.human,
    ),
    ("human: subject without colon", message("Subject: Out of office until June"), Sender.human),
    (
        "human: bounce-ish subject, real sender",
        message("Subject: Returned mail fine"),
        Sender.human,
    ),
    (
        "human: forwards a bounce as attachment",
        message(
            body="--FF\r\nContent-Type: text/plain\r\n\r\nwhat is this?\r\n--FF\r\n"
            "Content-Type: message/rfc822\r\n\r\nFrom: MAILER-DAEMON@x.example\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=RR\r\n"
            "\r\n--RR\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n"
            "--RR--\r\n--FF--\r\n",
            content_type='multipart/mixed; boundary="FF"',
        ),
        Sender.human,
    ),
]


def with_original(
    *headers: str, note: str = "Could not be delivered to: <bob@example.net>"
) -> EmailMessage:
    """A notice with the message it is about attached, like a bounce without a DSN part."""
    body = (
        f"--OO\r\nContent-Type: text/plain\r\n\r\n{note}\r\n"
        "--OO\r\nContent-Type: message/rfc822\r\n\r\nFrom: coffee@example.org\r\n"
        "To: bob@example.net\r\nSubject: Your coffee match\r\n\r\nHello\r\n--OO--\r\n"
    )
    return message(*headers, body=body, content_type='multipart/mixed; boundary="OO"')


CASES += [
    (
        "bounce: null sender returns the original",
        with_original("Return-Path: <>", "From: no-reply@mx.example.net", "Subject: Mail"),
        Sender.bounce,
    ),
    (
        "bounce: null sender returns the original's headers",
        message(
            "Return-Path: <>",
            "Subject: Notice",
            body="--HH\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
            "--HH\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\n--HH--\r\n",
            content_type='multipart/mixed; boundary="HH"',
        ),
        Sender.bounce,
    ),
    (
        "auto: null sender without the original is a vacation notice",
        message("Return-Path: <>", "Subject: Away until Monday"),
        Sender.auto_reply,
    ),
    (
        "human: attaches a message, real sender",
        with_original("Return-Path: <anne@example.net>", note="Look what I got"),
        Sender.human,
    ),
    (
        "feedback: ARF part beside the original, null sender",
        message(
            "Return-Path: <>",
            body="--AA\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
            "--AA\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
            "--AA\r\nContent-Type: message/rfc822\r\n\r\nSubject: hi\r\n\r\nx\r\n--AA--\r\n",
            content_type='multipart/mixed; boundary="AA"',
        ),
        Sender.feedback,
    ),
    ("list: List-Post", message("List-Post: <mailto:news@example.net>"), Sender.mailing_list),
    ("list: Mailman 2", message("X-Mailman-Version: 2.1.39"), Sender.mailing_list),
    ("list: ezmlm", message("Mailing-List: contact news-help@example.net"), Sender.mailing_list),
    (
        "list: fml loop alert",
        message(
            "X-MLServer: fml [fml 4.0]",
            "From: news-admin@example.net",
            "Subject: Loop Alert: Duplicated Message-ID",
        ),
        Sender.mailing_list,
    ),  # fmt: skip
    ("list: fml name", message("X-ML-Name: coffee-talk"), Sender.mailing_list),
]


@pytest.mark.parametrize(
    ("msg", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_classify(msg: EmailMessage, expected: Sender) -> None:
    verdict = classify(msg, OWN)
    assert verdict.sender == expected, verdict.reason
    assert verdict.reason


BOUNCE_SUBJECTS = [
    "Undeliverable: coffee",
    "Undelivered Mail Returned to Sender",
    "Delivery Status Notification (Failure)",
    "Mail delivery failed: returning message to sender",
    "Returned mail: see transcript for details",
    "failure notice",
    "Delivery Failure",
]


@pytest.mark.parametrize("subject", BOUNCE_SUBJECTS)
def test_null_sender_with_bounce_subject_is_a_bounce(subject: str) -> None:
    msg = message("Return-Path: <>", f"Subject: {subject}", "From: Mail System <mail@mx.example>")
    assert classify(msg, OWN).sender == Sender.bounce


@pytest.mark.parametrize("subject", BOUNCE_SUBJECTS[:2])
def test_bounce_subject_needs_null_sender(subject: str) -> None:
    msg = message("Return-Path: <anne@example.net>", f"Subject: {subject}")
    assert classify(msg, OWN).sender == Sender.human


AUTO_SUBJECTS = [
    "Out of Office: coffee",
    "Out of the office: back Monday",
    "Automatic reply: Re: your coffee match",
    "AutoReply: your coffee match",
    "Auto-Reply: hello",
    "Abwesenheitsnotiz: Kaffee",
    "Réponse automatique : café",
    "Respuesta automática: café",
    "Automatisch antwoord: koffie",
    "Fuori sede: caffè",
    "Risposta automatica: caffè",
    # Localised Outlook, Notes and vacation-program markers (issue #5)
    "Automatische Antwort: Re: Kaffee",
    "Resposta automática: café",
    "Fora do escritório: café",
    "Absence du bureau : café",
    "Automatiskt svar: kaffe",
    "Automatisk svar: kaffe",
    "Automaattinen vastaus: kahvi",
    "Odpowiedź automatyczna: kawa",
    "Automatyczna odpowiedź: kawa",
    "Automatická odpověď: káva",
    "Automatikus válasz: kávé",
    "Otomatik yanıt: kahve",
    "Автоответ: кофе",
    "Автоматический ответ: кофе",
    "自動応答: コーヒー",
    "自动回复：咖啡",
]


@pytest.mark.parametrize("subject", AUTO_SUBJECTS)
def test_auto_reply_subjects(subject: str) -> None:
    assert classify(message(f"Subject: {subject}"), OWN).sender == Sender.auto_reply


# A person's subject that merely mentions being away: no marker-and-colon at the start.
AWAY_BUT_HUMAN = [
    "Re: Abwesenheitsnotiz: Kaffee",
    "Re: Afwezig: koffie",
    "AW: Automatische Antwort: Kaffee",
    "Absence of coffee",
    "Afwezig tot juni, daarna graag",
    "Frånvaro i juli",
    "pause: fravær i juli",
    "Absent: back in June",
    # single away words a person may put first themselves: not enough on their own
    "Auto: your coffee match",
    "Abwesend: Kaffee",
    "Absence : café",
    "Ausencia: café",
    "Afwezig: koffie",
    "Afwezigheid: koffie",
    "Assente: caffè",
    "Ausente: café",
    "Frånvaro: kaffe",
    "Fravær: kaffe",
    "Fraværende: kaffe",
    "Nieobecność: kawa",
]


@pytest.mark.parametrize("subject", AWAY_BUT_HUMAN)
def test_away_words_elsewhere_in_a_subject_stay_human(subject: str) -> None:
    assert classify(message(f"Subject: {subject}"), OWN).sender == Sender.human


def test_encoded_auto_reply_subject() -> None:
    msg = message("Subject: =?utf-8?q?R=C3=A9ponse_automatique_:_caf=C3=A9?=")
    assert classify(msg, OWN).sender == Sender.auto_reply


def test_reason_names_the_header() -> None:
    assert classify(message("Auto-Submitted: auto-replied"), OWN) == Verdict(
        Sender.auto_reply, "Auto-Submitted: auto-replied"
    )


def test_sender_is_a_string_enum() -> None:
    assert Sender.auto_reply == "auto_reply"
    assert {sender.value for sender in Sender} == {
        "human",
        "auto_reply",
        "bounce",
        "feedback",
        "mailing_list",
        "own",
    }


MALFORMED = [
    b"From: <<<@@@>>>\r\nSubject: join\r\n\r\njoin\r\n",
    b'From: "unterminated <a@b\r\nReturn-Path: <\r\n\r\nx',
    b"From: =?utf-8?b?!!!?= <a@b>\r\nSubject: =?x-bogus?q?=ZZ?=\r\n\r\nx",
    b"From: \xff\xfe@\x80\r\nAuto-Submitted: \xff\r\nPrecedence: \x00\r\n\r\nx",
    b"Content-Type: multipart/report; report-type\r\n\r\n--\r\n",
    b'Content-Type: multipart/report; boundary=""; report-type=delivery-status\r\n\r\n',
    b"Content-Type: ;;;===\r\nList-Id:\r\n\r\n",
    b"From:\r\n\r\n",
    b"",
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_headers_never_raise(raw: bytes) -> None:
    assert isinstance(classify(parse(raw), OWN), Verdict)


def test_garbled_from_is_still_human() -> None:
    assert classify(parse(MALFORMED[0]), OWN).sender == Sender.human


HEADER_LINES = st.sampled_from(
    [
        b"From: MAILER-DAEMON\r\n",
        b"From: <>\r\n",
        b"Return-Path: <>\r\n",
        b"Auto-Submitted: ",
        b"Precedence: ",
        b"List-Id: ",
        b"X-Mailbot-Kind: ",
        b"Content-Type: multipart/report; report-type=",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n",
        b"Content-Type: message/delivery-status\r\n",
        b"Subject: =?utf-8?q?",
        b"\r\n",
        b"\r\n ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(HEADER_LINES, st.binary(max_size=30)), max_size=12))
def test_classify_never_raises_on_header_fragments(chunks: list[bytes]) -> None:
    assert isinstance(classify(parse(b"".join(chunks)), OWN).sender, Sender)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_classify_never_raises_on_bytes(raw: bytes) -> None:
    assert isinstance(classify(parse(raw), OWN).sender, Sender)
