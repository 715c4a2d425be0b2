"""Tests for mailbot.core.replies: keeping only the new text of a reply.

The messages are the project's own, modelled on what mail clients send; the third-party corpus
is for benchmarks/replies.py only.
"""

from __future__ import annotations

import base64
import email
import email.policy
import quopri
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.core.replies import Extracted, extract_html, extract_reply, extract_text
from mailbot.core.text import html_to_text

NEW = "We talked about onboarding.\nAnne showed me how her team runs retros."
BOT = "Coffee Bot <coffee@example.org>"
QUOTED = "> Hello Anne,\n>\n> How did it go with Bob? Just reply to this email.\n"


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def message(
    body: bytes, content_type: bytes = b"text/plain; charset=utf-8", cte: bytes = b"8bit"
) -> EmailMessage:
    head = (
        b"From: Anne Person <anne@example.org>\r\nTo: coffee@example.org\r\n"
        b"Subject: Re: how did it go?\r\nMIME-Version: 1.0\r\n"
    )
    head += b"Content-Type: " + content_type + b"\r\nContent-Transfer-Encoding: " + cte
    return parse(head + b"\r\n\r\n" + body)


# --------------------------------------------------------------------------- plain text: history

TOP_POSTED = [
    # (id, what follows the new text)
    ("gmail", f"On Mon, 3 Jun 2024 at 10:00, {BOT} wrote:\n\n{QUOTED}"),
    ("gmail-us", f"On Mon, Jun 3, 2024 at 10:00 AM {BOT} wrote:\n{QUOTED}"),
    (
        "gmail-wrapped-in-address",
        f"On Mon, 3 Jun 2024 at 10:00, Coffee Bot <\ncoffee@example.org> wrote:\n\n{QUOTED}",
    ),
    ("gmail-wrapped-before-verb", f"On Mon, Jun 3, 2024 at 10:00 AM {BOT}\nwrote:\n\n{QUOTED}"),
    (
        "wrapped-three-lines",
        "On Mon, 3 Jun 2024 at 10:00, Coffee Bot\n\n<\n"
        "mailto:coffee@example.org\n> wrote:\n\nOld unquoted text.\n",
    ),
    ("apple-mail", "On 3 Jun 2024, at 10:00, Coffee Bot wrote:\n\n" + QUOTED),
    (
        "apple-mail-quoted",
        "> On 3 Jun 2024, at 10:00, Coffee Bot <coffee@example.org> wrote:\n> \n> How did it go?\n",
    ),
    ("thunderbird", "On 03/06/2024 10:00, Coffee Bot wrote:\n" + QUOTED),
    ("eudora", "At 10:00 03/06/2024, you wrote:\n>How did it go?\n"),
    ("german", f"Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb {BOT}:\n\n{QUOTED}"),
    (
        "german-wrapped",
        f"Coffee Bot <coffee@example.org> schrieb am Mo., 3.\nJuni 2024 um 10:00 Uhr:\n\n{QUOTED}",
    ),
    ("german-apple", f"Am 03.06.2024 um 10:00 schrieb {BOT}:\n\n{QUOTED}"),
    ("french", f"Le lun. 3 juin 2024 à 10:00, {BOT} a écrit :\n\n{QUOTED}"),
    ("french-nbsp", f"Le 3 juin 2024 à 10:00, {BOT} a écrit\u00a0:\n{QUOTED}"),
    (
        "spanish",
        "El lun, 3 jun 2024 a las 10:00, Coffee Bot (<coffee@example.org>) escribió:\n" + QUOTED,
    ),
    ("spanish-no-address", "El lunes, 3 de junio de 2024, Coffee Bot escribió:\n\n" + QUOTED),
    ("dutch", f"Op ma 3 jun. 2024 om 10:00 schreef {BOT}:\n\n{QUOTED}"),
    ("dutch-apple", f"> Op 3 jun. 2024 om 10:00 heeft {BOT} het volgende geschreven:\n>\n{QUOTED}"),
    ("italian", f"Il giorno lun 3 giu 2024 alle ore 10:00 {BOT} ha scritto:\n\n{QUOTED}"),
    ("portuguese", f"Em seg., 3 de jun. de 2024 às 10:00, {BOT} escreveu:\n\n{QUOTED}"),
    ("polish", f"W dniu 3.06.2024 o 10:00, {BOT} napisał(a):\n\n{QUOTED}"),
    ("swedish", f"Den 3 juni 2024 10:00 skrev {BOT}:\n\n{QUOTED}"),
    ("russian", f"3 июня 2024 г., в 10:00, {BOT} написал(а):\n\n{QUOTED}"),
    ("chinese", f"在 2024年6月3日，上午10:00，{BOT} 写道：\n\n{QUOTED}"),
    ("chinese-gmail", f"{BOT} 于2024年6月3日周一 10:00写道：\n\n{QUOTED}"),
    ("japanese-gmail", f"2024年6月3日(月) 10:00 {BOT}:\n\n{QUOTED}"),
    ("korean-gmail", f"2024년 6월 3일 (월) 오전 10:00, {BOT}님이 작성:\n\n{QUOTED}"),
    (
        "finnish",
        "ma 3. kesäk. 2024 klo 10.00 Coffee Bot (coffee@example.org) kirjoitti:\n\n" + QUOTED,
    ),
    ("spark", "On 3 June 2024 at 10:00:00, Coffee Bot (coffee@example.org) wrote:\n\n" + QUOTED),
    ("lotus-notes", f"{BOT} wrote on 03/06/2024 10:00:\n\nOld unquoted text.\n"),
    (
        "google-group-wrapped",
        "On Mon, Jun 3, 2024 at 10:00 AM Coffee Bot via Example Group <\n"
        f"example-group@googlegroups.com> wrote:\n{QUOTED}",
    ),
    (
        "samsung",
        "-------- Original message --------\nFrom: Coffee Bot <coffee@example.org>\n"
        "Date: 03/06/2024 10:00 (GMT+00:00)\nTo: anne@example.org\nSubject: Hi\n\nOld\n",
    ),
    (
        "lotus-tabs",
        "From:\tCoffee Bot <coffee@example.org>\nTo:\tAnne\nDate:\t03/06/2024 10:00\n"
        "Subject:\tHi\n\nOld\n",
    ),
    ("gmail-dated", f"2024-06-03 10:00 GMT+02:00 {BOT}:\n\n{QUOTED}"),
    ("gmail-dated-no-address", "2024-06-03 10:00 GMT+02:00 Coffee Bot\n\nOld unquoted text.\n"),
    ("address-led", f"Mon, 3 Jun 2024 10:00 +0200 от {BOT}:\n{QUOTED}"),
    ("zoho", f"---- On Mon, 03 Jun 2024 10:00:00 +0200 {BOT} wrote ----\n\nOld unquoted text.\n"),
    (
        "outlook",
        "________________________________\nFrom: Coffee Bot <coffee@example.org>\n"
        "Sent: Monday, 3 June 2024 10:00\nTo: Anne Person <anne@example.org>\n"
        "Subject: How did it go?\n\nHello Anne,\nHow did it go with Bob?\n",
    ),
    (
        "outlook-no-rule",
        "From: Coffee Bot [mailto:coffee@example.org]\n"
        "Sent: Monday, June 03, 2024 10:00 AM\nTo: Anne Person\n"
        "Subject: How did it go?\n\nHello Anne,\n",
    ),
    (
        "outlook-bold",
        "*From:* Coffee Bot <coffee@example.org>\n*Sent:* Monday, 3 June 2024\n"
        "*To:* Anne Person\n*Subject:* How did it go?\n\nHello Anne,\n",
    ),
    (
        "outlook-mac",
        "From: Coffee Bot <coffee@example.org>\nDate: Monday, 3 June 2024 at 10:00\n"
        "To: Anne Person <anne@example.org>\nSubject: How did it go?\n\nHello,\n",
    ),
    (
        "outlook-german",
        "-----Ursprüngliche Nachricht-----\nVon: Coffee Bot <coffee@example.org>\n"
        "Gesendet: Montag, 3. Juni 2024 10:00\nAn: Anne Person\n"
        "Betreff: Wie war es?\n\nHallo Anne,\n",
    ),
    (
        "outlook-french",
        "De : Coffee Bot <coffee@example.org>\nEnvoyé : lundi 3 juin 2024 10:00\n"
        "À : Anne Person\nObjet : Comment ça s'est passé ?\n\nBonjour Anne,\n",
    ),
    (
        "outlook-italian",
        "Da: Coffee Bot <coffee@example.org>\nInviato: lunedì 3 giugno 2024\n"
        "A: Anne Person\nOggetto: Com'è andata?\n\nCiao Anne,\n",
    ),
    (
        "outlook-dutch",
        "Van: Coffee Bot <coffee@example.org>\nVerzonden: maandag 3 juni 2024\n"
        "Aan: Anne Person\nOnderwerp: Hoe ging het?\n\nHoi Anne,\n",
    ),
    (
        "outlook-polish",
        "Od: Coffee Bot <coffee@example.org>\nWysłano: poniedziałek, 3 czerwca\n"
        "Do: Anne Person\nTemat: Jak poszło?\n\nCześć Anne,\n",
    ),
    (
        "outlook-spanish",
        "-----Mensaje original-----\nDe: Coffee Bot\nEnviado: lunes, 3 de junio\n"
        "Para: Anne Person\nAsunto: ¿Qué tal?\n\nHola Anne,\n",
    ),
    (
        "outlook-hotmail-order",
        "Date: Mon, 3 Jun 2024 10:00:00 +0200\nSubject: How did it go?\n"
        "From: coffee@example.org\nTo: anne@example.org\n\nHello Anne,\n",
    ),
    ("original-message", "-----Original Message-----\nHello Anne,\nHow did it go?\n"),
    (
        "original-message-spaced",
        "----- Original Message -----\nFrom: coffee@example.org\n"
        "To: anne@example.org\nSent: Monday, June 3, 2024 10:00 AM\n"
        "Subject: How did it go?\n\nHello Anne,\n",
    ),
    (
        "forwarded-gmail",
        "---------- Forwarded message ---------\nFrom: Coffee Bot "
        "<coffee@example.org>\nDate: Mon, 3 Jun 2024 at 10:00\n"
        "Subject: How did it go?\nTo: <anne@example.org>\n\nHello Anne,\n",
    ),
    ("forwarded-apple", f"Begin forwarded message:\n\n> From: {BOT}\n> Subject: How did it go?\n"),
    ("signature", "-- \nAnne Person\nExample Council\n\n" + f"On 3 Jun 2024, {BOT} wrote:\n"),
    ("signature-no-space", "--\nAnne Person | Example Council\n"),
    ("quote-only-tail", QUOTED),
]


@pytest.mark.parametrize("history", [h for _, h in TOP_POSTED], ids=[i for i, _ in TOP_POSTED])
def test_top_posted_reply_keeps_only_new_text(history):
    assert extract_text(f"{NEW}\n\n{history}") == NEW


@pytest.mark.parametrize(
    "history",
    [h for i, h in TOP_POSTED if "dated" not in i and "signature" not in i],
    ids=[i for i, _ in TOP_POSTED if "dated" not in i and "signature" not in i],
)
def test_history_directly_under_the_text(history):
    """No blank line between the new text and the history (Outlook, mobile clients)."""
    assert extract_text(f"{NEW}\n{history}") == NEW


BOTTOM_POSTED = [
    ("attribution-and-quote", f"On Mon, 3 Jun 2024 at 10:00, {BOT} wrote:\n{QUOTED}\n{NEW}\n", NEW),
    (
        "wrapped-attribution",
        "On Mon, 3 Jun 2024 at 10:00, Coffee Bot <\ncoffee@example.org> "
        f"wrote:\n\n{QUOTED}\n{NEW}\n",
        NEW,
    ),
    ("french", f"Le 3 juin 2024 à 10:00, {BOT} a écrit :\n{QUOTED}\n{NEW}\n", NEW),
    ("attribution-then-text", f"On 3 Jun 2024 at 10:00, {BOT} wrote:\n\n{NEW}\n", NEW),
    (
        "forward-without-comment",
        "---------- Forwarded message ---------\nFrom: "
        f"{BOT}\nDate: Mon, 3 Jun 2024\nSubject: A long subject\n"
        f"that wraps\nTo: anne@example.org\n\n\n{NEW}\n",
        NEW,
    ),
    ("quote-without-attribution", f"> Did you meet?\n\n{NEW}\n", f"> Did you meet?\n\n{NEW}"),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b, e) for _, b, e in BOTTOM_POSTED],
    ids=[i for i, _, _ in BOTTOM_POSTED],
)
def test_bottom_posted_reply(body, expected):
    assert extract_text(body) == expected


INTERLEAVED = (
    f"On Mon, 3 Jun 2024 at 10:00, {BOT} wrote:\n"
    "> Did you meet?\n\n"
    "Yes, on Tuesday.\n\n"
    "> What did you learn?\n>\n"
    "That retros work better on Mondays.\n"
    "> Anything else?\n"
    "No.\n\n"
    "> See you next month.\n"
)


def test_interleaved_reply_keeps_every_answer_with_its_question():
    assert extract_text(INTERLEAVED) == (
        "> Did you meet?\n\nYes, on Tuesday.\n\n> What did you learn?\n>\n"
        "That retros work better on Mondays.\n> Anything else?\nNo."
    )


def test_interleaved_reply_drops_the_attribution_of_a_nested_quote():
    body = (
        f"{NEW}\n\nOn 1 Jun 2024 at 09:00, Bob Example <bob@example.net> wrote:\n\n"
        "> Shall we meet at the library?\n\nWe did, and it was quiet.\n"
    )
    assert extract_text(body) == (
        f"{NEW}\n\n> Shall we meet at the library?\n\nWe did, and it was quiet."
    )


# --------------------------------------------------------------------------- signatures, footers

FOOTERS = [
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from my Samsung Galaxy smartphone.",
    "Sent from my BlackBerry 10 smartphone.",
    "Sent from my Android phone, please excuse typos",
    "Sent from Mail for Windows",
    "Sent from Yahoo Mail for iPhone",
    "Sent with Proton Mail secure email.",
    "(Sent from a phone)",
    "Get Outlook for iOS",
    "Get Outlook for Android<https://aka.ms/example>",
    "Get [Outlook for Android](https://aka.ms/example)",
    "Envoyé de mon iPhone",
    "Envoyé depuis mon appareil mobile",
    "Von meinem iPhone gesendet",
    "Gesendet von meinem Huawei",
    "Enviado desde mi iPhone",
    "Enviado do meu iPhone",
    "Verstuurd vanaf mijn iPhone",
    "Verzonden met BlackBerry Work",
    "Inviato da iPhone",
    "Skickat från min iPhone",
    "Sendt fra min iPhone",
    "Wysłane z mojego iPhone'a",
    "Отправлено с iPhone",
    "发自我的iPhone",
    "iPhoneから送信",
]


@pytest.mark.parametrize("footer", FOOTERS)
def test_mobile_footer_is_removed(footer):
    assert extract_text(f"{NEW}\n\n{footer}\n") == NEW
    assert (
        extract_text(f"{NEW}\n\n{footer}\n\nOn 3 Jun 2024, at 10:00, {BOT} wrote:\n\n{QUOTED}")
        == NEW
    )


def test_text_after_a_footer_is_kept():
    assert extract_text(f"Short one.\n\nSent from my iPhone\n\n{NEW}\n") == f"Short one.\n\n{NEW}"


def test_signature_delimiter_ends_the_reply():
    body = f"{NEW}\n\n-- \nAnne Person\nExample Council\nTel: 01632 960000\n"
    assert extract_text(body) == NEW


KEPT = [
    # Lines that look a little like history but are what people write.
    ("prose-wrote", "Anne wrote 3 posts about it:\n- one on retros\n- one on hiring"),
    ("prose-i-wrote", "As I wrote: testing matters.\nI wrote: more tests, fewer meetings."),
    ("pronoun-then-quote", "She wrote:\n> ship small changes\n\nWhich I liked."),
    ("dated-prose", "On Monday 3 June we met at 10:00 in the library.\nIt was great."),
    ("qa", "Q: did you meet?\nA: yes, twice.\nDate: next one in July."),
    ("from-to", "From: the workshop\nTo: everyone who asked"),
    ("sent-with", "Sent with love from Lisbon, where we met."),
    ("markdown-table", "| tool | use |\n|------|-----|\n| git | always |"),
    ("horizontal-rule", "First part.\n\n---\n\nSecond part."),
    ("code", "Notes:\n\n    def greet():\n        return 'hi'\n\n- a\n- b"),
    ("fenced-dashes", "The query:\n\n```\n--\n> not a quote\nselect 1;\n```\n\nThat was it."),
    ("arrows", "Plan -> do -> check\n=> it works"),
    ("numbers", "2024-06-03 was the day.\n10:00 worked for both of us."),
    ("board", "At 10:30 she wrote on the whiteboard:\n- one\n- two"),
    ("board-named", "At 10:30 Anne wrote on the whiteboard:\n- one\n- two"),
    ("timed-no-date", "Great.\n\nYesterday at 10:30 Anne wrote:\nher notes, unquoted."),
    ("possessive-then-quote", "Great chat.\n\nMy manager wrote:\n> ship small\n\nI agree."),
    ("address-in-prose", "Email anne@example.org on Monday at 10:00:\nshe is happy to help."),
    ("address-and-parens", "Email me (anne@example.org) at 10:00 (not later):\n- a"),
    ("dated-explained", "On Monday 3 June 2024, Anne explained:\n- a\n- b"),
    ("agenda", "The agenda:\nDate: 3 June\nTo: discuss hiring\nFrom: Anne"),
    ("sent-from-my-heart", "Sent from my heart: thanks Anne!"),
    ("greetings-from", "Hi.\nGreetings from Outlook land, where we met."),
    ("on-behalf", "Hi.\nSent on behalf of the mail team."),
    ("quote-of-the-day", "Quote of the day:\n\n> Make it work, then make it nice.\n\nAgreed."),
]


@pytest.mark.parametrize("body", [b for _, b in KEPT], ids=[i for i, _ in KEPT])
def test_ordinary_text_is_kept_whole(body):
    assert extract_text(body) == body


def test_formatting_of_the_new_text_is_kept():
    body = "Para one.\n\n\n\nPara two   \n  - indented item\n\n\tTabbed code\n"
    assert extract_text(body) == "Para one.\n\nPara two\n  - indented item\n\n\tTabbed code"


def test_line_endings_and_invisible_characters():
    body = f"{NEW}\r\n\u200b\r\nOn 3 Jun 2024, at 10:00, {BOT} wrote:\r\n> hi\r\n"
    assert extract_text(body) == NEW


# --------------------------------------------------------------------------- HTML

GMAIL = (
    '<div dir="ltr"><div>We talked about onboarding.</div><div>Anne showed me how her team runs '
    'retros.</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, '
    "3 Jun 2024 at 10:00, Coffee Bot &lt;coffee@example.org&gt; wrote:<br></div>"
    '<blockquote class="gmail_quote" style="margin:0 0 0 .8ex">Hello Anne,<br>How did it go?'
    "</blockquote></div>"
)
HTML_CASES = [
    ("gmail", GMAIL),
    (
        "gmail-signature",
        '<div dir="ltr">We talked about onboarding.<br>Anne showed me how her '
        'team runs retros.<br clear="all"><br>-- <br><div class="gmail_signature">Anne Person<br>'
        "Example Council</div></div>",
    ),
    (
        "apple-mail",
        "<html><body>We talked about onboarding.<div>Anne showed me how her team "
        'runs retros.</div><div><br><blockquote type="cite"><div>On 3 Jun 2024, at 10:00, Coffee '
        "Bot &lt;coffee@example.org&gt; wrote:</div><div>Hello Anne,</div></blockquote></div>"
        "</body></html>",
    ),
    (
        "thunderbird",
        "<p>We talked about onboarding.<br>Anne showed me how her team runs retros."
        '</p><div class="moz-cite-prefix">On 03/06/2024 10:00, Coffee Bot wrote:<br></div>'
        '<blockquote type="cite">Hello Anne,</blockquote><div class="moz-signature">-- <br>Anne'
        "</div>",
    ),
    (
        "outlook-web",
        "<div>We talked about onboarding.</div><div>Anne showed me how her team runs "
        'retros.</div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg"><b>From:'
        "</b> Coffee Bot<br><b>Sent:</b> Monday<br></div><div>Hello Anne,</div>",
    ),
    (
        "outlook-desktop",
        "<p>We talked about onboarding.</p><p>Anne showed me how her team runs "
        'retros.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm'
        ' 0cm"><p><b>From:</b> Coffee Bot</p></div><p>Hello Anne,</p>',
    ),
    (
        "outlook-mobile",
        "<div>We talked about onboarding.<br>Anne showed me how her team runs "
        'retros.</div><div id="ms-outlook-mobile-signature">Get <a href="https://aka.ms/x">Outlook'
        ' for iOS</a></div><div id="appendonsend"></div><hr><div><b>From:</b> Coffee Bot</div>',
    ),
    (
        "hotmail",
        "We talked about onboarding.<br>Anne showed me how her team runs retros.<br>"
        '<hr id="stopSpelling">Date: Mon, 3 Jun 2024 10:00:00 +0200<br>Subject: How did it go?<br>'
        "From: coffee@example.org<br>To: anne@example.org<br><br>Hello Anne,",
    ),
    (
        "yahoo",
        "<div>We talked about onboarding.</div><div>Anne showed me how her team runs "
        'retros.</div><div class="yahoo_quoted"><div>On Monday, 3 June 2024, 10:00, Coffee Bot '
        "wrote:</div><div>Hello Anne,</div></div>",
    ),
    (
        "protonmail",
        "<div>We talked about onboarding.</div><div>Anne showed me how her team runs "
        'retros.</div><div class="protonmail_quote">On Monday, Coffee Bot wrote:<blockquote>Hello'
        "</blockquote></div>",
    ),
    (
        "outlook-web-prefixed-czech",
        "<div>We talked about onboarding.</div><div>Anne showed me how her team runs retros."
        '</div><div id="x_divRplyFwdMsg"><b>Od:</b> Coffee Bot &lt;coffee@example.org&gt;<br>'
        "<b>Odesláno:</b> pondělí 3. června 2024 10:00<br><b>Komu:</b> Anne<br><b>Předmět:</b>"
        " Jak to šlo?</div><div>Ahoj Anne,</div>",
    ),
]


@pytest.mark.parametrize("html", [h for _, h in HTML_CASES], ids=[i for i, _ in HTML_CASES])
def test_html_reply_keeps_only_new_text(html):
    assert extract_html(html) == NEW


def test_html_interleaved_reply():
    html = (
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, 3 Jun 2024 at 10:00, Coffee '
        "Bot &lt;coffee@example.org&gt; wrote:</div><blockquote>Did you meet?</blockquote>"
        "</div><div>Yes, on Tuesday.</div><blockquote>What did you learn?</blockquote>"
        "<div>That retros work better on Mondays.</div><blockquote>Bye</blockquote>"
    )
    assert extract_html(html) == (
        "> Did you meet?\nYes, on Tuesday.\n> What did you learn?\n"
        "That retros work better on Mondays."
    )


# --------------------------------------------------------------------------- whole messages


def test_multipart_reply_reads_the_text_part():
    raw = (
        b'Content-Type: multipart/alternative; boundary="B"\r\n\r\n--B\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + NEW.encode() + b"\r\n\r\n"
        b"On Mon, 3 Jun 2024 at 10:00, Coffee Bot <coffee@example.org> wrote:\r\n> Hi\r\n"
        b"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>ignored</p>\r\n--B--\r\n"
    )
    result = extract_reply(parse(b"From: anne@example.org\r\nMIME-Version: 1.0\r\n" + raw))
    assert result == Extracted(NEW, result.raw, False, "")
    assert "Coffee Bot" in result.raw


def test_html_only_message():
    result = extract_reply(message(GMAIL.encode(), b"text/html; charset=utf-8"))
    assert result.text == NEW
    assert not result.needs_review
    assert "> Hello Anne," in result.raw


CHARSETS = [
    (
        "latin-1",
        "Grüße aus Köln: wir haben über Käse geredet.",
        b"text/plain; charset=iso-8859-1",
        "latin-1",
    ),
    (
        "cp1252-as-ascii",
        "We met at the café – it was “great”.",
        b"text/plain; charset=us-ascii",
        "cp1252",
    ),
    (
        "unknown-charset",
        "Wir haben uns getroffen, schön!",
        b"text/plain; charset=x-unknown",
        "utf-8",
    ),
    ("no-charset", "Tuesday worked for both of us.", b"text/plain", "ascii"),
    ("utf-8-cyrillic", "Мы встретились во вторник.", b"text/plain; charset=utf-8", "utf-8"),
    ("koi8-r", "Мы встретились во вторник.", b"text/plain; charset=koi8-r", "koi8-r"),
    ("shift-jis", "火曜日に会いました。", b"text/plain; charset=shift_jis", "shift_jis"),
]


@pytest.mark.parametrize(
    ("text", "content_type", "codec"), [c[1:] for c in CHARSETS], ids=[c[0] for c in CHARSETS]
)
def test_odd_charsets(text, content_type, codec):
    history = "\n\nOn Mon, 3 Jun 2024 at 10:00, Coffee Bot <coffee@example.org> wrote:\n> Hi\n"
    result = extract_reply(message((text + history).encode(codec), content_type))
    assert result.text == text
    assert not result.needs_review


def test_base64_and_quoted_printable_bodies():
    body = f"{NEW}\n\nOn 3 Jun 2024, at 10:00, {BOT} wrote:\n> Hi\n".encode()
    assert extract_reply(message(base64.encodebytes(body), cte=b"base64")).text == NEW
    assert extract_reply(message(quopri.encodestring(body), cte=b"quoted-printable")).text == NEW


# --------------------------------------------------------------------------- needs_review

REVIEW = [
    # (id, body, text, needs_review, reason starts with)
    ("plain", f"{NEW}\n\n{QUOTED}", NEW, False, ""),
    ("empty", "", "", True, "empty message"),
    ("blank", "\n  \n", "", True, "empty message"),
    ("quote-only", f"On 3 Jun 2024, at 10:00, {BOT} wrote:\n\n{QUOTED}", "", True, "nothing left"),
    ("footer-only", "Sent from my iPhone\n", "", True, "nothing left"),
    (
        "outlook-history-only",
        "\n\n________________________________\nFrom: Coffee Bot "
        "<coffee@example.org>\nSent: Monday, 3 June 2024 10:00\nTo: Anne Person\n"
        "Subject: How did it go?\n\nHello Anne,\nHow did it go with Bob?\n",
        "",
        True,
        "nothing left",
    ),
    ("signature-only", "-- \nAnne Person\n", "", True, "nothing left"),
    (
        "short-reply-long-history",
        "Yes.\n\nFrom: Coffee Bot <coffee@example.org>\nSent: Monday\n"
        "To: Anne\nSubject: Hi\n\n" + "Unquoted history from Outlook goes on and on.\n" * 20,
        "Yes.",
        False,
        "",
    ),
    (
        "unquoted-text-after-attribution",
        "Short note.\n\nOn Mon, 3 Jun 2024 at 10:00, Anne Person"
        " wrote:\n\n" + "This paragraph is not quoted and may be what Anne meant to keep.\n" * 5,
        "Short note.",
        True,
        "kept 10 characters",
    ),
    (
        "long-tail-after-signature",
        "Ok.\n-- \n" + "".join(f"line {n} of a long story\n" for n in range(12)),
        "Ok.",
        True,
        "kept 3 characters",
    ),
    ("short-signature", "Ok.\n-- \nAnne Person\nExample Council\n", "Ok.", False, ""),
]


@pytest.mark.parametrize(
    ("body", "text", "review", "reason"), [r[1:] for r in REVIEW], ids=[r[0] for r in REVIEW]
)
def test_needs_review(body, text, review, reason):
    result = extract_reply(message(body.encode()))
    assert (result.text, result.needs_review) == (text, review)
    assert result.reason.startswith(reason)
    assert bool(result.reason) == review


def test_raw_keeps_everything_for_review():
    body = f"{NEW}\r\n\r\n{QUOTED}"
    result = extract_reply(message(body.encode()))
    assert result.raw.rstrip("\n") == body.replace("\r\n", "\n").rstrip("\n")


# --------------------------------------------------------------------------- properties

TRICKY_LINES = [
    "",
    " ",
    ">",
    "> quoted",
    ">> deeper",
    "--",
    "-- ",
    "Sent from my iPhone",
    "```",
    "On Mon, 3 Jun 2024 at 10:00, Coffee Bot <coffee@example.org> wrote:",
    "On Mon, 3 Jun 2024 at 10:00, Coffee Bot <",
    "coffee@example.org> wrote:",
    "> wrote:",
    "From: Coffee Bot <coffee@example.org>",
    "Sent: Monday",
    "To: Anne",
    "Subject: hi",
    "-----Original Message-----",
    "________________________________",
    "Begin forwarded message:",
    "2024-06-03 10:00 GMT+02:00 Bob <bob@example.net>",
    "Am 3. Juni 2024 schrieb Bob:",
    "We met on Tuesday.",
    "Anne wrote:",
    "\u200b",
    "\u00a0",
    "\t",
    "A: yes",
]
texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(TRICKY_LINES), st.text(max_size=40)), max_size=30).map(
        "\n".join
    ),
)


def kept_in_order(output: str, source: str) -> bool:
    """Every non-blank output line is a source line, in the source's order (no invention).

    Lines are compared stripped: the result is stripped as a whole, so its first line may be.
    """
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    remaining = iter(line.strip() for line in lines)
    return all(
        any(line.strip() == candidate for candidate in remaining)
        for line in output.split("\n")
        if line.strip()
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_extract_text_never_invents_lines(text):
    result = extract_text(text)
    assert kept_in_order(result, text)
    assert result == result.strip()
    assert "\n\n\n" not in result


html_fragments = st.sampled_from(
    [
        "<div>",
        "</div>",
        "<br>",
        "<p>",
        "</p>",
        '<blockquote type="cite">',
        "</blockquote>",
        '<div class="gmail_quote">',
        '<div class="gmail_signature">',
        '<div id="divRplyFwdMsg">',
        '<hr id="stopSpelling">',
        "<pre>",
        "</pre>",
        "-- ",
        "&gt; quoted",
        "On Mon, 3 Jun 2024 at 10:00, Bob &lt;bob@example.net&gt; wrote:",
        "We met.",
        "Sent from my iPhone",
        "<b>From:</b>",
    ]
)
htmls = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(html_fragments, st.text(max_size=20)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(htmls)
def test_extract_html_never_invents_lines(html):
    result = extract_html(html)
    assert kept_in_order(result, html_to_text(html))


@settings(max_examples=100, deadline=None)
@given(
    texts,
    st.sampled_from(
        [
            b"text/plain; charset=utf-8",
            b"text/html; charset=utf-8",
            b"text/plain; charset=bogus",
            b"multipart/mixed",
        ]
    ),
)
def test_extract_reply_never_raises(text, content_type):
    result = extract_reply(message(text.encode("utf-8", "surrogatepass"), content_type))
    assert isinstance(result, Extracted)
    assert result.needs_review or result.text
