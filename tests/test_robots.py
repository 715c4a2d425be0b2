"""Tests for mailbot.core.robots: telling people from auto-responders, bounces and lists."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core import robot_markers as markers
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


# ---- issue: robots known by structure (complaints without report-type, failure notices
# whose subject reads like a reply) and auto-replies in more languages


def mixed(*parts: tuple[str, str], headers: tuple[str, ...] = ()) -> EmailMessage:
    """A multipart/mixed message from (content type, body) parts."""
    body = "".join(f"--PP\r\nContent-Type: {kind}\r\n\r\n{text}\r\n" for kind, text in parts)
    return message(
        *headers, body=body + "--PP--\r\n", content_type='multipart/mixed; boundary="PP"'
    )


REPORTED = (
    "message/rfc822",
    "From: Coffee <coffee@example.org>\r\nTo: carol@example.com\r\n"
    "Subject: Your coffee match\r\nMessage-ID: <m1@example.org>\r\n\r\nMeet Dan.\r\n",
)
REPORTED_HEADERS = (
    "text/rfc822-headers",
    "From: Coffee <coffee@example.org>\r\nSubject: Your coffee match\r\n",
)


def complaint(sender: str, subject: str, *headers: str, note: str = "A complaint.") -> EmailMessage:
    """A complaint report with the reported message attached and no report-type."""
    return mixed(
        ("text/plain", note), REPORTED, headers=(f"From: {sender}", f"Subject: {subject}", *headers)
    )


COMPLAINTS = [
    (
        "hosting provider's abuse desk",
        complaint(
            "Example Hosting Abuse Team <abuse@hosting.example>",
            "Abuse report for 192.0.2.7 [ticket 4711]",
            note="We received a complaint about mail sent from your server 192.0.2.7.",
        ),
    ),
    (
        "webmail 'complaint about message from' with only the message",
        mixed(
            REPORTED,
            headers=(
                "From: staff@webmail.example",
                "Subject: complaint about message from 192.0.2.7",
            ),
        ),
    ),
    ("report phrase from a plain sender", complaint("ops@isp.example", "Spam report: 192.0.2.7")),
    ("FBL", complaint("loop@isp.example", "FBL 192.0.2.7")),
    ("Email Feedback Report", complaint("reports@isp.example", "Email Feedback Report for IP")),
    ("Complaint about message", complaint("help@isp.example", "Complaint about message 4711")),
    ("bare word from an abuse desk", complaint("abuse@isp.example", "abuse")),
    ("any subject from a feedback loop", complaint("feedbackloop@isp.example", "Fw: hello")),
    ("bare word with a null sender", complaint("desk@isp.example", "Spam", "Return-Path: <>")),
    ("bare word, Auto-Submitted", complaint("desk@isp.example", "spam", "Auto-Submitted: yes")),
    (
        "from postmaster, original's headers only",
        mixed(
            ("text/plain", "Spam."),
            REPORTED_HEADERS,
            headers=("From: postmaster@isp.example", "Subject: Spam complaint"),
        ),
    ),
    ("German", complaint("noc@provider.example", "Missbrauchsmeldung: 192.0.2.7")),
    ("French", complaint("support@hebergeur.example", "Signalement d'abus 192.0.2.7")),
    ("Spanish", complaint("soporte@proveedor.example", "Informe de abuso 192.0.2.7")),
    ("Italian", complaint("assistenza@provider.example", "Segnalazione di abuso")),
    ("Dutch", complaint("support@provider.example", "Misbruikmelding 192.0.2.7")),
    ("Russian bare word, robot sender", complaint("noreply@provider.example", "Жалоба")),
]


@pytest.mark.parametrize("msg", [case[1] for case in COMPLAINTS], ids=[c[0] for c in COMPLAINTS])
def test_complaint_reports_without_report_type_are_feedback(msg: EmailMessage) -> None:
    verdict = classify(msg, OWN)
    assert verdict.sender == Sender.feedback, verdict.reason


def test_a_returned_complaint_is_still_a_bounce() -> None:
    msg = complaint("postmaster@mx.example.net", "Undeliverable: Spam report")
    assert classify(msg, OWN).sender == Sender.bounce


PEOPLE_WITH_ATTACHMENTS = [
    ("complains about a match", complaint("Anne <anne@example.net>", "Abuse from my match")),
    ("forwards spam", complaint("Anne <anne@example.net>", "Fwd: spam")),
    ("replies about a report", complaint("Anne <anne@example.net>", "Re: Spam report")),
    ("forwards a report", complaint("Anne <anne@example.net>", "Fwd: Abuse report 4711")),
    ("bare word, personal sender", complaint("Anne <anne@example.net>", "complaint")),
    ("no complaint words", complaint("Anne <anne@example.net>", "look at this one")),
]


@pytest.mark.parametrize(
    "msg",
    [case[1] for case in PEOPLE_WITH_ATTACHMENTS],
    ids=[c[0] for c in PEOPLE_WITH_ATTACHMENTS],
)
def test_people_attaching_a_message_stay_human(msg: EmailMessage) -> None:
    verdict = classify(msg, OWN)
    assert verdict.sender == Sender.human, verdict.reason


# Failure notices in our own words, shaped like each MTA's: none has a DSN part, a daemon
# address or X-Failed-Recipients, and most have a subject that reads like a reply.
POSTFIX_LIKE = (
    "This is the mail system at host mx.example.net.\n\n"
    "Sorry, your message could not be delivered to one or more recipients.\n\n"
    "<bob@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1\n"
    "    <bob@example.net>: Recipient address rejected\n"
)
EXIM_LIKE = (
    "A message that you sent could not be delivered to one or more of its recipients.\n"
    "This is a permanent error. The following address(es) failed:\n\n"
    "  bob@example.net\n    mailbox is full\n"
)
QMAIL_LIKE = (
    "Hi. This is the qmail-send program at mx.example.net.\n"
    "I wasn't able to deliver your message to the following addresses.\n\n"
    "<bob@example.net>:\nNo mailbox here by that name. (#5.1.1)\n"
)
SENDMAIL_LIKE = (
    "The original message was received at Mon, 1 Jun 2026 09:00:00 +0200\n\n"
    "   ----- The following addresses had permanent fatal errors -----\n"
    "<bob@example.net>\n    (reason: 550 5.1.1 User unknown)\n"
)
EXCHANGE_LIKE = (
    "<html><body><p>Delivery has failed to these recipients or groups:</p>"
    "<p><a href='mailto:bob@example.net'>bob@example.net</a><br>"
    "The address couldn't be found.</p></body></html>"
)

FAILURE_NOTICES = [
    ("Postfix, Mail Delivery System", "Mail Delivery System <mail@mx.example.net>",
     "Re: your coffee match", POSTFIX_LIKE),
    ("Exim, Mail Delivery System, mailbox full", "Mail Delivery System <exim@mx.example.net>",
     "Re: lunch on Friday", EXIM_LIKE),
    ("qmail, bare 'mailer' address", "mailer@mx.example.net", "Re: hello", QMAIL_LIKE),
    ("Sendmail, Subsystem from root", "Mail Delivery Subsystem <root@mx.example.net>",
     "Re: coffee", SENDMAIL_LIKE),
    ("Sendmail, daemon", '"Mail Delivery Subsystem" <daemon@mx.example.net>', "Returned mail",
     SENDMAIL_LIKE),
    ("Mail Administrator", "Mail Administrator <mail@example.net>", "Re: coffee", EXIM_LIKE),
    ("Postmaster display name", "Postmaster <helpdesk@example.net>", "Re: coffee", QMAIL_LIKE),
    ("MAILER-DAEMON display name", "MAILER-DAEMON <mx@example.net>", "Re: coffee", POSTFIX_LIKE),
    ("Mail-Daemon local part", "Mail-Daemon@mx.example.net", "Re: coffee", POSTFIX_LIKE),
    ("French", "Système de messagerie <mail@example.fr>", "Re: café",
     "Votre message n'a pas pu être remis à bob@example.fr : destinataire inconnu."),
    ("German", "Mail Delivery System <mail@example.de>", "AW: Kaffee",
     "Ihre Nachricht an bob@example.de konnte nicht zugestellt werden."),
    ("delay warning, status code only", "Mail Delivery System <mail@mx.example.net>",
     "Re: coffee", "Still trying bob@example.net: 451 4.4.1 no answer from host"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sender", "subject", "text"),
    [case[1:] for case in FAILURE_NOTICES],
    ids=[case[0] for case in FAILURE_NOTICES],
)
def test_failure_notices_are_known_by_their_text(sender: str, subject: str, text: str) -> None:
    kind = "text/html" if text.startswith("<html>") else "text/plain; charset=utf-8"
    msg = message(f"From: {sender}", f"Subject: {subject}", body=text, content_type=kind)
    verdict = classify(msg, OWN)
    assert verdict.sender == Sender.bounce, verdict.reason


def test_exchange_like_html_notice_from_system_administrator() -> None:
    msg = message(
        "From: System Administrator <exchange@example.net>",
        "Subject: Re: coffee",
        body=EXCHANGE_LIKE,
        content_type="text/html",
    )
    assert classify(msg, OWN).sender == Sender.bounce


def test_null_sender_with_failure_text_is_a_bounce_not_an_auto_reply() -> None:
    msg = message(
        "Return-Path: <>", "From: notices@mx.example.net", "Subject: Re: coffee", body=POSTFIX_LIKE
    )
    assert classify(msg, OWN) == Verdict(
        Sender.bounce, "Return-Path: <> and 'mail system at host' in the text"
    )


def test_failure_text_without_an_address_needs_the_message_back() -> None:
    text = "Your message could not be delivered. This is a permanent error."
    sender = "From: Mail Delivery System <mail@mx.example.net>"
    alone = message(sender, "Subject: Re: coffee", body=text)
    returned = mixed(("text/plain", text), REPORTED, headers=(sender, "Subject: Re: coffee"))
    assert classify(alone, OWN).sender == Sender.human
    assert classify(returned, OWN).sender == Sender.bounce


def test_mta_sender_with_a_bounce_subject_but_no_text_is_a_bounce() -> None:
    msg = message(
        "From: Mail Delivery System <mail@mx.example.net>",
        "Subject: Undelivered Mail Returned to Sender",
        body="",
    )
    assert classify(msg, OWN).sender == Sender.bounce


@pytest.mark.parametrize("local", ["Mailer.Daemon", "mail_daemon", "POST-MASTER"])
def test_daemon_spellings(local: str) -> None:
    assert classify(message(f"From: {local}@mx.example.net"), OWN).sender == Sender.bounce


def test_failure_text_is_read_from_the_first_20000_characters_only() -> None:
    msg = message(
        "From: Mail Delivery System <mail@mx.example.net>",
        "Subject: Re: coffee",
        body="x\n" * 10_001 + POSTFIX_LIKE,
    )
    assert classify(msg, OWN).sender == Sender.human


BOUNCE_FORWARDED = (
    "Can you look at this? Bob's address seems wrong.\n\n"
    "---------- Forwarded message ---------\n"
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
    "Subject: Undelivered Mail Returned to Sender\n\n" + POSTFIX_LIKE
)

LOOKALIKES = [
    ("forwards a bounce to an admin", "Anne <anne@example.net>",
     "Fwd: Undelivered Mail Returned to Sender", BOUNCE_FORWARDED),
    ("an admin forwards a bounce", "System Administrator <admin@example.net>",
     "Fwd: Undelivered Mail Returned to Sender", BOUNCE_FORWARDED),
    ("an admin forwards a bounce, Apple Mail", "Postmaster <admin@example.net>",
     "Fwd: coffee", "See below.\n\nBegin forwarded message:\n\n" + QMAIL_LIKE),
    ("replies quoting a bounce", "Anne <anne@example.net>",
     "Re: Undelivered Mail Returned to Sender",
     "Sorry, typo! Use bob@example.org.\n\n" + "".join(f"> {line}\n" for line in
                                                      POSTFIX_LIKE.splitlines())),
    ("was out of the office", "Anne <anne@example.net>", "Re: your coffee match",
     "I was out of the office last week, sorry. Thursday works for me.\n"),
    ("is called Postman Pat", "Postman Pat <pat@example.net>", "Re: Undelivered parcel",
     "The parcel for anne@example.org could not be delivered: user unknown at the depot.\n"),
    ("is the Postmaster General", "Postmaster General <pmg@example.net>", "Re: coffee",
     "My letter to bob@example.net was not delivered, 550 reasons why.\n"),
    ("writes from a mail@ mailbox", "mail@anne.example", "Re: coffee",
     "My invite to bob@example.net could not be delivered (user unknown).\n"),
    ("writes from root", "root@anne.example", "Re: coffee",
     "Delivery failed for bob@example.net, 5.1.1, can you check?\n"),
    ("pastes an error", "Anne <anne@example.net>", "Re: Delivery Status Notification (Failure)",
     "Gmail says 550 5.1.1 for bob@example.net, user unknown. Which address is right?\n"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sender", "subject", "text"),
    [case[1:] for case in LOOKALIKES],
    ids=[case[0] for case in LOOKALIKES],
)
def test_people_who_look_like_failure_notices_stay_human(
    sender: str, subject: str, text: str
) -> None:
    path = f"Return-Path: <{parseaddr(sender)[1]}>"
    msg = message(f"From: {sender}", f"Subject: {subject}", path, body=text)
    verdict = classify(msg, OWN)
    assert verdict.sender == Sender.human, verdict.reason


# One or more subjects per language of the auto-reply table; the table may not grow a
# language without a test here.
AUTO_REPLIES_BY_LANGUAGE = {
    "English": ["Automatic reply: coffee", "Out of Office: coffee", "Autoreply: coffee"],
    "German": ["Automatische Antwort: Kaffee", "Abwesenheitsnotiz: Kaffee"],
    "French": ["Réponse automatique : café", "Absence du bureau : café"],
    "Spanish": ["Respuesta automática: café"],
    "Dutch": ["Automatisch antwoord: koffie"],
    "Italian": ["Risposta automatica: caffè"],
    "Portuguese": ["Resposta automática: café"],
    "Swedish": ["Automatiskt svar: kaffe"],
    "Norwegian, Danish": ["Automatisk svar: kaffe", "Autosvar: kaffe"],
    "Finnish": ["Automaattinen vastaus: kahvi"],
    "Polish": ["Automatyczna odpowiedź: kawa"],
    "Czech": ["Automatická odpověď: káva"],
    "Hungarian": ["Automatikus válasz: kávé"],
    "Turkish": ["Otomatik yanıt: kahve"],
    "Russian": ["Автоматический ответ: кофе"],
    "Greek": ["Αυτόματη απάντηση: καφές"],
    "Japanese": ["自動応答: コーヒー"],
    "Chinese": ["自动回复：咖啡", "自動回覆: 咖啡"],
    "Welsh": ["Ateb awtomatig: coffi"],
    "Catalan": ["Resposta automàtica: cafè"],
    "Romanian": ["Răspuns automat: cafea"],
    "Ukrainian": ["Автовідповідь: кава", "Автоматична відповідь: кава"],
    "Bulgarian": ["Автоматичен отговор: кафе"],
    "Croatian, Serbian, Bosnian": ["Automatski odgovor: kava", "Аутоматски одговор: кафа"],
    "Slovak": ["Automatická odpoveď: káva"],
    "Slovenian": ["Samodejni odgovor: kava"],
    "Estonian": ["Automaatvastus: kohv"],
    "Latvian": ["Automātiskā atbilde: kafija"],
    "Lithuanian": ["Automatinis atsakymas: kava"],
    "Icelandic": ["Sjálfvirkt svar: kaffi"],
    "Korean": ["자동 회신: 커피"],
    "Arabic": ["رد تلقائي: قهوة"],
    "Hebrew": ["תשובה אוטומטית: קפה"],
    "Thai": ["ตอบกลับอัตโนมัติ: กาแฟ"],
    "Vietnamese": ["Trả lời tự động: cà phê"],
    "Indonesian": ["Balasan otomatis: kopi"],
    "Malay": ["Balasan automatik: kopi"],
    "Hindi": ["स्वचालित उत्तर: कॉफ़ी"],
    "Persian": ["پاسخ خودکار: قهوه"],
    "Basque": ["Erantzun automatikoa: kafea"],
}
AUTO_REPLY_SAMPLES = [
    (language, subject)
    for language, subjects in AUTO_REPLIES_BY_LANGUAGE.items()
    for subject in subjects
]


def test_auto_reply_table_is_data_with_one_tested_row_per_language() -> None:
    languages = [row[0] for row in markers.AUTO_REPLY_SUBJECTS]
    assert len(languages) == len(set(languages)) >= 20
    assert all(len(row) == 3 and all(row) for row in markers.AUTO_REPLY_SUBJECTS)
    assert set(languages) == set(AUTO_REPLIES_BY_LANGUAGE)


@pytest.mark.parametrize(("language", "subject"), AUTO_REPLY_SAMPLES)
def test_auto_reply_subject_per_language(language: str, subject: str) -> None:
    plain = message(f"Subject: {subject}", "Return-Path: <anne@example.net>")
    flagged = message(f"Subject: {subject}", "Auto-Submitted: auto-replied")
    assert classify(plain, OWN).sender == Sender.auto_reply, language
    assert classify(flagged, OWN).sender == Sender.auto_reply, language


@pytest.mark.parametrize(("language", "subject"), AUTO_REPLY_SAMPLES)
def test_a_person_replying_to_an_auto_reply_stays_human(language: str, subject: str) -> None:
    for prefix in ("Re: ", "AW: "):
        assert classify(message(f"Subject: {prefix}{subject}"), OWN).sender == Sender.human
    bare = subject.replace(":", "").replace("：", "")  # the marker without its colon
    assert classify(message(f"Subject: {bare}"), OWN).sender == Sender.human, language


def test_encoded_korean_auto_reply() -> None:
    subject = "=?utf-8?b?" + base64.b64encode("자동 회신: 커피".encode()).decode() + "?="
    assert classify(message(f"Subject: {subject}"), OWN).sender == Sender.auto_reply


def test_hostile_notice_text_never_raises() -> None:
    msg = message(
        "From: Mail Delivery System <mail@mx.example.net>",
        "Subject: Re: x",
        body=("a@" * 50_000) + ("5." * 50_000),
        content_type="text/html",
    )
    assert isinstance(classify(msg, OWN), Verdict)
