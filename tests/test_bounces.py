"""Tests for mailbot.core.bounces: what failed, for good or not, and which message it was.

Every bounce here is written by hand in the shape of a real MTA's (RFC 3464 DSNs from Postfix,
qmail, Exim, Exchange / Office 365, Gmail, Sendmail); people live on example domains.
"""

from __future__ import annotations

import ast
import email
import email.policy
from dataclasses import FrozenInstanceError
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core import bounces
from mailbot.core.bounces import Bounce, parse_bounce, verp_token

BOT = "coffee@example.org"
VERP = "coffee+bounces-r12.anne=example.net@example.org"


def parse(text: str) -> EmailMessage:
    """A message from readable text: leading newline dropped, CRLF line ends."""
    return parse_bytes(text.lstrip("\n").replace("\r\n", "\n").replace("\n", "\r\n").encode())


def parse_bytes(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def dsn(*recipient_blocks: str, to: str = VERP, original: str = "") -> EmailMessage:
    """A Postfix-style multipart/report with one block of fields per recipient."""
    blocks = "\n".join(recipient_blocks)
    original = original or (
        "Content-Type: message/rfc822\n\n"
        "From: Coffee <coffee@example.org>\nTo: anne@example.net, bob@example.com\n"
        "Subject: Your coffee match\nMessage-ID: <intro-7@example.org>\n\nHello!\n"
    )
    return parse(f"""
Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Mon, 3 Jun 2024 09:00:00 +0000

{blocks}
--B1
{original}
--B1--
""")


ANNE_FAILED = """\
Final-Recipient: rfc822; anne@mail.example.net
Original-Recipient: rfc822; Anne@Example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.net
Diagnostic-Code: smtp; 550 5.1.1 <anne@mail.example.net>: Recipient address rejected:
    User unknown in local recipient table
"""
BOB_DELAYED = """\
Final-Recipient: rfc822; bob@example.com
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.com[192.0.2.7]:25: Connection timed out
"""
CLARA_DELIVERED = """\
Final-Recipient: rfc822; clara@example.com
Action: delivered
Status: 2.0.0
"""


# ---- DSN (RFC 3464)


def test_dsn_failure() -> None:
    assert parse_bounce(dsn(ANNE_FAILED), BOT) == Bounce(
        recipients=("anne@example.net", "anne@mail.example.net"),
        permanent=True,
        status="5.1.1",
        diagnostic="550 5.1.1 <anne@mail.example.net>: Recipient address rejected: "
        "User unknown in local recipient table",
        original_message_id="<intro-7@example.org>",
        verp="r12.anne=example.net",
    )


def test_dsn_delay_is_temporary() -> None:
    bounce = parse_bounce(dsn(BOB_DELAYED), BOT)
    assert bounce.recipients == ("bob@example.com",)
    assert not bounce.permanent
    assert bounce.status == "4.4.1"
    assert "Connection timed out" in bounce.diagnostic


def test_dsn_with_failure_and_delay_reports_the_failure_only() -> None:
    bounce = parse_bounce(dsn(BOB_DELAYED, ANNE_FAILED), BOT)
    assert bounce.permanent
    assert bounce.recipients == ("anne@example.net", "anne@mail.example.net")


def test_dsn_success_names_nobody() -> None:
    bounce = parse_bounce(dsn(CLARA_DELIVERED), BOT)
    assert bounce.recipients == ()
    assert not bounce.permanent


@pytest.mark.parametrize(
    ("fields", "permanent"),
    [
        ("Action: failed\nStatus: 4.4.7", True),  # gave up after retrying: final
        ("Status: 5.2.2", True),  # no Action: the status class decides
        ("Status: 4.2.2", False),
        ("Action: expired\nStatus: 4.4.7", True),  # a non-standard word for giving up
        ("Action: Delayed\nStatus: 4.7.0 (greylisted)", False),
    ],
)
def test_dsn_permanence(fields: str, permanent: bool) -> None:
    bounce = parse_bounce(dsn(f"Final-Recipient: rfc822; anne@example.net\n{fields}\n"), BOT)
    assert bounce.recipients == ("anne@example.net",)
    assert bounce.permanent is permanent


def test_dsn_status_read_from_diagnostic_when_missing() -> None:
    block = "Final-Recipient: rfc822;anne@example.net\nAction: failed\n"
    block += "Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled\n"
    assert parse_bounce(dsn(block), BOT).status == "5.2.1"


def test_dsn_with_original_headers_only() -> None:
    headers = (
        "Content-Type: text/rfc822-headers\n\n"
        "From: coffee@example.org\nTo: anne@example.net\n"
        "Message-Id: <digest-3@example.org>\nSubject: Digest\n"
    )
    assert parse_bounce(dsn(ANNE_FAILED, original=headers), BOT).original_message_id == (
        "<digest-3@example.org>"
    )


def test_dsn_fields_in_the_text_when_the_mime_is_broken() -> None:
    msg = parse("""
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
To: coffee@example.org
Subject: Returned mail: User unknown

   ----- The following addresses had delivery problems -----
<anne@example.net>  (unrecoverable error)

--XX.1/mx.example.org
content-type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; anne@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 no such user

Final-Recipient: rfc822; bob@example.com
Action: delayed
Status: 4.4.1
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("anne@example.net",)
    assert bounce.permanent
    assert bounce.status == "5.1.1"


# ---- text bounces of MTAs that send no DSN


QMAIL = """
Return-Path: <>
From: MAILER-DAEMON@mx.example.net
To: coffee+bounces-r3.bob=example.net@example.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<bob@example.net>:
192.0.2.10 does not like recipient.
Remote host said: 550 5.1.1 <bob@example.net>: Recipient address rejected
Giving up on 192.0.2.10.

--- Below this line is a copy of the message.

Return-Path: <coffee+bounces-r3.bob=example.net@example.org>
Received: (qmail 4242 invoked from network); 3 Jun 2024 09:00:00 -0000
Message-ID: <intro-3@example.org>
From: Coffee <coffee@example.org>
To: bob@example.net, anne@example.com
Subject: Your coffee match

Hello!
"""


def test_qmail() -> None:
    assert parse_bounce(parse(QMAIL), BOT) == Bounce(
        recipients=("bob@example.net",),
        permanent=True,
        status="5.1.1",
        diagnostic="Remote host said: 550 5.1.1 <bob@example.net>: Recipient address rejected",
        original_message_id="<intro-3@example.org>",
        verp="r3.bob=example.net",
    )


def test_qmail_gives_up_after_temporary_errors() -> None:
    msg = parse("""
From: MAILER-DAEMON@mx.example.net
To: coffee@example.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.

<bob@example.net>:
Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)
I'm not going to try again; this message has been in the queue too long.
""")
    bounce = parse_bounce(msg, BOT)
    assert (bounce.recipients, bounce.permanent, bounce.status) == (
        ("bob@example.net",),
        True,
        "4.4.1",
    )


EXIM = """
Return-path: <>
From: Mail Delivery System <Mailer-Daemon@mail.example.com>
To: coffee+bounces-x9@example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: clara@example.com
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  clara@example.com
    SMTP error from remote mail server after RCPT TO:<clara@example.com>:
    host mx.example.com [192.0.2.20]: 550 5.2.1 Mailbox disabled for this recipient

------ This is a copy of the message, including all the headers. ------

Return-path: <coffee+bounces-x9@example.org>
Message-Id: <followup-12@example.org>
From: coffee@example.org
To: clara@example.com, dan@example.net
Subject: How did your coffee go?

Hi!
"""


def test_exim() -> None:
    bounce = parse_bounce(parse(EXIM), BOT)
    assert bounce.recipients == ("clara@example.com",)
    assert bounce.permanent
    assert bounce.status == "5.2.1"
    assert bounce.diagnostic.startswith("host mx.example.com [192.0.2.20]: 550 5.2.1 Mailbox")
    assert bounce.original_message_id == "<followup-12@example.org>"
    assert bounce.verp == "x9"


def test_exim_without_failed_recipients_header_scans_the_text() -> None:
    text = EXIM.replace("X-Failed-Recipients: clara@example.com\n", "")
    assert parse_bounce(parse(text), BOT).recipients == ("clara@example.com",)


def test_exim_delay_warning_is_temporary() -> None:
    msg = parse("""
From: Mail Delivery System <Mailer-Daemon@mail.example.com>
To: coffee@example.org
Subject: Warning: message 1sE3xq-0001Ab-Cd delayed 24 hours
X-Failed-Recipients: dan@example.net

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mail.example.com.

The message identifier is:     1sE3xq-0001Ab-Cd
The subject of the message is: How did your coffee go?

The address to which the message has not yet been delivered is:

  dan@example.net
    host mx.example.net [192.0.2.30]
    Delay reason: SMTP error from remote mail server after MAIL FROM:<coffee@example.org>:
    451 4.7.1 Greylisted, please try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered. Eventually the mail delivery software will give up,
and when that happens, the message will be returned to you.
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("dan@example.net",)
    assert not bounce.permanent
    assert bounce.status == "4.7.1"


OFFICE365 = """
From: postmaster@example.com
To: coffee+bounces-r9@example.org
Subject: Undeliverable: Your coffee match
Content-Type: text/plain; charset=utf-8

Your message to erin@example.com couldn't be delivered.

Delivery has failed to these recipients or groups:

erin@example.com<mailto:erin@example.com>
The email address you entered couldn't be found. For more tips, see DSN 5.1.10 Errors
in Exchange Online and Office 365<https://go.microsoft.example/fwlink/?LinkId=1>.

Diagnostic information for administrators:

Generating server: AM0PR01MB0001.eurprd01.prod.outlook.example

erin@example.com
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found'

Original message headers:

Received: from mail.example.org (192.0.2.1) by AM0PR01MB0001.eurprd01.prod.outlook.example
From: Coffee <coffee@example.org>
To: erin@example.com, frank@example.net
Subject: Your coffee match
Message-ID: <intro-9@example.org>
"""


def test_office365_ndr() -> None:
    bounce = parse_bounce(parse(OFFICE365), BOT)
    assert bounce.recipients == ("erin@example.com",)  # not frank, who shared the intro
    assert bounce.permanent
    assert bounce.status == "5.1.10"
    assert bounce.diagnostic.startswith("Remote Server returned '550 5.1.10")
    assert bounce.original_message_id == "<intro-9@example.org>"


def test_exchange_2003_names_only_the_failed_recipient() -> None:
    msg = parse("""
From: System Administrator <postmaster@example.com>
To: coffee@example.org
Subject: Undeliverable: Your coffee match

Your message

  To:      erin@example.com; frank@example.com
  Subject: Your coffee match
  Sent:    Mon, 3 Jun 2024 09:00:00 +0000

did not reach the following recipient(s):

erin@example.com on Mon, 3 Jun 2024 09:00:05 +0000
    The recipient name is not recognized
    The MTS-ID of the original message is: c=us;a= ;p=example;l=EX01
    MSEXCH:IMS:Example:Site:EX01 0 (000C05A6) Unknown Recipient
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("erin@example.com",)
    assert bounce.permanent
    assert bounce.status == ""


def test_gmail_address_not_found() -> None:
    msg = parse("""
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: coffee@example.org
Subject: Delivery Status Notification (Failure)

** Address not found **

Your message wasn't delivered to gus@example.net because the address couldn't be found,
or is unable to receive mail.

Learn more here: https://support.google.example/mail/?p=NoSuchUser

The response was:

550 5.1.1 The email account that you tried to reach does not exist.

----- Original message -----

Message-ID: <intro-11@example.org>
From: coffee@example.org
To: gus@example.net, hana@example.org
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("gus@example.net",)
    assert bounce.permanent
    assert bounce.status == "5.1.1"
    assert bounce.original_message_id == "<intro-11@example.org>"


def test_sendmail_without_dsn_part() -> None:
    msg = parse("""
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
To: coffee@example.org
Subject: Returned mail: see transcript for details

The original message was received at Mon, 3 Jun 2024 09:00:00 +0000
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<ivan@example.net>
    (reason: 550 User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
>>> MAIL From:<coffee@example.org> SIZE=1024
>>> RCPT To:<ivan@example.net>
<<< 550 User unknown
550 5.1.1 <ivan@example.net>... User unknown

   ----- Original message follows -----

Message-Id: <202406030900.x1@example.org>
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("ivan@example.net",)
    assert bounce.permanent
    assert bounce.status == "5.1.1"
    assert bounce.original_message_id == "<202406030900.x1@example.org>"


def test_gmail_delay_is_temporary() -> None:
    msg = parse("""
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: coffee@example.org
Subject: Delivery Status Notification (Delay)

This is an automatically generated Delivery Status Notification

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     judy@example.net

Message will be retried for 2 more day(s)
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("judy@example.net",)
    assert not bounce.permanent


def test_text_scan_skips_senders_contacts_and_message_ids() -> None:
    msg = parse("""
From: MAILER-DAEMON@mx.example.net
To: coffee+bounces-q1@example.org
Subject: failure notice

Your message from coffee@example.org could not be delivered.
For help, write to <support@example.net> or postmaster@example.net.
  Message-ID: <intro-1@example.org>
  From: Coffee <coffee@example.org>
  Reply-To: coffee+bounces-q1@example.org
SMTP error after MAIL FROM:<someone-else@example.org>:
<kate@example.net>: 550 5.1.1 no such user
""")
    assert parse_bounce(msg, BOT).recipients == ("kate@example.net",)


def test_text_without_codes_is_a_final_failure() -> None:
    msg = parse("""
From: Postmaster@example.jp
To: coffee@example.org
Subject: DELIVERY FAILURE: User leo (leo@example.jp) not listed

Your message

  Subject: Your coffee match

was not delivered to:

  leo@example.jp

because:

  User leo (leo@example.jp) not listed in Domino Directory
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.recipients == ("leo@example.jp",)
    assert bounce.permanent
    assert (bounce.status, bounce.original_message_id, bounce.verp) == ("", "", "")


def test_message_id_from_the_attached_original_beats_the_text() -> None:
    msg = parse("""
From: MAILER-DAEMON@mx.example.net
To: coffee@example.org
Subject: Mail
Content-Type: multipart/mixed; boundary="M1"

--M1
Content-Type: text/plain

Could not be delivered to: <mia@example.net>
Message-ID: <not-this-one@example.net>
--M1
Content-Type: message/rfc822

Message-ID: <intro-21@example.org>
From: coffee@example.org
Subject: Your coffee match

Hello
--M1--
""")
    bounce = parse_bounce(msg, BOT)
    assert bounce.original_message_id == "<intro-21@example.org>"
    assert bounce.recipients == ("mia@example.net",)


# ---- VERP


def headers(*lines: str) -> EmailMessage:
    return parse("\n".join(lines) + "\nSubject: x\n\nbody\n")


@pytest.mark.parametrize(
    "line",
    [
        f"To: {VERP}",
        f"To: Coffee <{VERP}>",
        f"Delivered-To: {VERP}",
        f"X-Original-To: {VERP}",
        f"Envelope-To: <{VERP}>",
        "To: COFFEE+bounces-r12.anne=example.net@EXAMPLE.ORG",
    ],
)
def test_verp_token(line: str) -> None:
    assert verp_token(headers(line), BOT) == "r12.anne=example.net"


def test_verp_token_from_a_later_delivered_to() -> None:
    msg = headers(
        "Delivered-To: coffee@example.org", "Delivered-To: coffee+bounces-Ab9@example.org"
    )
    assert verp_token(msg, BOT) == "Ab9"  # opaque: its case is kept


@pytest.mark.parametrize(
    ("line", "bot"),
    [
        ("To: coffee@example.org", BOT),
        ("To: tea+bounces-r1@example.org", BOT),  # another bot's return path
        ("To: xcoffee+bounces-r1@example.org", BOT),
        ("To: coffee+bounces-r1@example.org.evil.example", BOT),
        ("To: coffee+bounces-@example.org", BOT),  # no token
        (f"To: {VERP}", ""),
        (f"Subject: {VERP}", BOT),  # only delivery headers count
    ],
)
def test_no_verp_token(line: str, bot: str) -> None:
    assert verp_token(headers(line), bot) == ""


def test_verp_address_is_never_a_recipient() -> None:
    msg = parse(f"""
From: MAILER-DAEMON@mx.example.net
To: postmaster@example.org
Subject: failure notice

<{VERP}>:
550 5.1.1 mailbox unavailable
""")
    assert parse_bounce(msg, BOT).recipients == ()


# ---- shape and safety


def test_bounce_is_frozen() -> None:
    bounce = parse_bounce(parse(QMAIL), BOT)
    with pytest.raises(FrozenInstanceError):
        bounce.permanent = False  # type: ignore[misc]


ALLOWED_IMPORTS = {"__future__", "re", "collections", "dataclasses", "email", "mailbot"}


def test_module_imports_no_io() -> None:
    tree = ast.parse(Path(bounces.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in ALLOWED_IMPORTS, name
            if name.startswith("mailbot"):
                assert name.startswith("mailbot.core."), name


MALFORMED = [
    b"",
    b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n--\r\n",
    b"Content-Type: multipart/report; boundary=B\r\n\r\n--B\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n"
    b"Final-Recipient: \xff\xfe\r\nAction: \x00\r\n--B--\r\n",
    b"Content-Type: message/global-delivery-status\r\n\r\nFinal-Recipient: utf-8; a@b.c\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"To: =?utf-8?b?!!!?=\r\nDelivered-To: <<<\r\n\r\n<a@b.c>: 550\r\n",
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_never_raises(raw: bytes) -> None:
    assert isinstance(parse_bounce(parse_bytes(raw), BOT), Bounce)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_on_bytes(raw: bytes) -> None:
    assert isinstance(parse_bounce(parse_bytes(raw), BOT), Bounce)
