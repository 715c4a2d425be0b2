"""Tests for mailbot.core.text: body extraction, HTML flattening, typed-line detection."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.reader import command_lines
from mailbot.core.text import body_text, html_to_text


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


HEAD = b"From: Anne <anne@example.org>\r\nTo: coffee@example.org\r\nSubject: hi\r\n"


def single(content_type: bytes, body: bytes, cte: bytes = b"") -> EmailMessage:
    headers = HEAD + b"MIME-Version: 1.0\r\n"
    if content_type:
        headers += b"Content-Type: " + content_type + b"\r\n"
    if cte:
        headers += b"Content-Transfer-Encoding: " + cte + b"\r\n"
    return parse(headers + b"\r\n" + body)


def multipart(subtype: bytes, *parts: bytes) -> EmailMessage:
    raw = HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/" + subtype
    raw += b'; boundary="XX"\r\n\r\npreamble\r\n'
    for part in parts:
        raw += b"--XX\r\n" + part + b"\r\n"
    return parse(raw + b"--XX--\r\n")


def part(content_type: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return b"Content-Type: " + content_type + b"\r\n" + extra + b"\r\n" + body


def nested(subtype: bytes, boundary: bytes, *parts: bytes) -> bytes:
    """A multipart body part, for building nested trees."""
    out = b"Content-Type: multipart/" + subtype + b'; boundary="' + boundary + b'"\r\n\r\n'
    for piece in parts:
        out += b"--" + boundary + b"\r\n" + piece + b"\r\n"
    return out + b"--" + boundary + b"--"


GMAIL_HTML = (
    b'<div dir="ltr">pause</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
    b"On Mon, 3 Jun 2024 at 10:00, Coffee Bot &lt;coffee@example.org&gt; wrote:<br></div>"
    b'<blockquote class="gmail_quote" style="margin:0px">Your match this week is Bob.'
    b"</blockquote></div>"
)

# ---------------------------------------------------------------- body_text: structure

STRUCTURE_CASES = [
    ("plain", single(b"text/plain; charset=us-ascii", b"join\r\n"), "join\n"),
    ("no content-type", single(b"", b"pause\r\n"), "pause\n"),
    ("bogus content-type", single(b"garbage", b"pause\r\n"), "pause\n"),
    ("empty body", single(b"text/plain", b""), ""),
    ("non-text only", single(b"application/pdf", b"%PDF-1.4"), ""),
    ("crlf and cr", single(b"text/plain", b"a\r\nb\rc\n"), "a\nb\nc\n"),
    (
        "quoted-printable utf-8",
        single(b"text/plain; charset=utf-8", b"caf=C3=A9 =E2=98=95\r\n", b"quoted-printable"),
        "café ☕\n",
    ),
    (
        "alternative prefers plain",
        multipart(
            b"alternative",
            part(b"text/plain", b"leave"),
            part(b"text/html", b"<p>something else</p>"),
        ),
        "leave",
    ),
    (
        "alternative with html first still prefers plain",
        multipart(
            b"alternative",
            part(b"text/html", b"<p>html</p>"),
            part(b"text/plain", b"plain"),
        ),
        "plain",
    ),
    (
        "html only (gmail)",
        single(b"text/html; charset=utf-8", GMAIL_HTML),
        "pause\n\n> On Mon, 3 Jun 2024 at 10:00, Coffee Bot <coffee@example.org> wrote:\n"
        "> Your match this week is Bob.",
    ),
    (
        "blank plain falls back to html",
        multipart(
            b"alternative", part(b"text/plain", b"\r\n  \r\n"), part(b"text/html", b"<b>join</b>")
        ),
        "join",
    ),
    (
        "nested mixed/related/alternative skips attachments",
        multipart(
            b"mixed",
            part(
                b"text/plain",
                b"not me",
                b'Content-Disposition: attachment; filename="notes.txt"\r\n',
            ),
            nested(
                b"related",
                b"YY",
                nested(
                    b"alternative",
                    b"ZZ",
                    part(b"text/plain", b"join please"),
                    part(b"text/html", b"<p>join please</p>"),
                ),
                part(b"image/png", b"iVBORw0KGgo=", b"Content-Transfer-Encoding: base64\r\n"),
            ),
        ),
        "join please",
    ),
    (
        "message/rfc822 attachment ignored",
        multipart(
            b"mixed",
            part(b"text/plain", b"see attached"),
            part(b"message/rfc822", b"Subject: old\r\n\r\nold text from someone else"),
        ),
        "see attached",
    ),
    (
        "only a message/rfc822 attachment",
        multipart(b"mixed", part(b"message/rfc822", b"Subject: old\r\n\r\nold text")),
        "",
    ),
    (
        "multipart without its boundary",
        parse(HEAD + b"Content-Type: multipart/mixed; boundary=nope\r\n\r\nleave\r\n"),
        "leave",
    ),
]


@pytest.mark.parametrize(
    ("msg", "expected"),
    [case[1:] for case in STRUCTURE_CASES],
    ids=[case[0] for case in STRUCTURE_CASES],
)
def test_body_text_structure(msg: EmailMessage, expected: str) -> None:
    assert body_text(msg) == expected


# ---------------------------------------------------------------- body_text: charsets

CHARSET_CASES = [
    ("iso-8859-1", b"text/plain; charset=iso-8859-1", b"caf\xe9 cr\xe8me", "café crème"),
    ("windows-1252", b"text/plain; charset=windows-1252", b"\x93hi\x94 \x80", "“hi” €"),
    (
        "latin-1 label, cp1252 bytes",
        b"text/plain; charset=iso-8859-1",
        b"\x93quoted\x94",
        "“quoted”",
    ),
    ("koi8-r", b"text/plain; charset=koi8-r", "привет".encode("koi8-r"), "привет"),
    ("shift_jis", b"text/plain; charset=shift_jis", "こんにちは".encode("shift_jis"), "こんにちは"),
    ("bogus x-unknown, utf-8 bytes", b'text/plain; charset="x-unknown"', "héllo".encode(), "héllo"),
    ("bogus x-unknown, latin-1 bytes", b'text/plain; charset="x-unknown"', b"caf\xe9", "café"),
    ("utf8mb4", b'text/plain; charset="utf8mb4"', "☕ join".encode(), "☕ join"),
    ("us-ascii label, utf-8 bytes", b"text/plain; charset=us-ascii", "Zoë".encode(), "Zoë"),
    ("no charset, 8-bit utf-8", b"text/plain", "Grüße".encode(), "Grüße"),
    ("non-text codec name", b"text/plain; charset=base64", b"am9pbg==", "am9pbg=="),
    ("escape codec name", b"text/plain; charset=unicode_escape", b"a\\u0041", "a\\u0041"),
    ("undecodable utf-8", b"text/plain; charset=utf-8", b"ok \xff\xfe ok", "ok \ufffd\ufffd ok"),
]


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [case[1:] for case in CHARSET_CASES],
    ids=[case[0] for case in CHARSET_CASES],
)
def test_body_text_charsets(content_type: bytes, body: bytes, expected: str) -> None:
    assert body_text(single(content_type, body, b"8bit")) == expected


@pytest.mark.parametrize(
    ("cte", "body"),
    [
        (b"base64", b"am9pbg=\r\n!!!not base64***\r\n"),
        (b"base64", b"a"),
        (b"base64", b"\xff\xfe\x00"),
        (b"quoted-printable", b"bad =ZZ escape and soft break =\r\n"),
        (b"x-uuencode", b"begin 644 x\r\n`\r\nend\r\n"),
        (b"gibberish", b"join"),
    ],
)
def test_body_text_broken_transfer_encoding_never_raises(cte: bytes, body: bytes) -> None:
    assert isinstance(body_text(single(b"text/plain; charset=utf-8", body, cte)), str)


def test_body_text_of_built_message() -> None:
    msg = EmailMessage()
    msg["From"] = "anne@example.org"
    msg.set_content("pause until 2 July ☕\n")
    msg.add_alternative("<p>pause until 2 July ☕</p>", subtype="html")
    assert body_text(msg) == "pause until 2 July ☕\n"


# ---------------------------------------------------------------- html_to_text

HTML_CASES = [
    (
        "drops head, style, script, comments",
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>alert(1)</script><!-- hidden -->join<![if !mso]>!<![endif]></body></html>",
        "join!",
    ),
    ("unclosed head", "<html><head><style>x{}</style><body>join", "join"),
    ("entities", "Tom &amp; Jerry &lt;3 &eacute;t&eacute;&nbsp;&#9749;", "Tom & Jerry <3 été ☕"),
    ("whitespace collapsed", "  join\n   the\t\tcoffee  ", "join the coffee"),
    ("br and p", "one<br>two<br/><p>three</p><p>four</p>", "one\ntwo\nthree\nfour"),
    ("blank lines kept once", "a<br><br><br><br>b", "a\n\nb"),
    ("lists", "<ul><li>join</li><li>pause</li></ul>", "join\npause"),
    ("table cells", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
    ("headings", "<h1>Title</h1>text", "Title\ntext"),
    ("pre keeps lines", "<pre>join\n  now</pre>", "join\n  now"),
    ("blockquote", "pause<blockquote>old<br>text</blockquote>", "pause\n> old\n> text"),
    (
        "nested blockquotes",
        "a<blockquote>b<blockquote>c</blockquote></blockquote>",
        "a\n> b\n> > c",
    ),
    (
        "apple cite",
        '<div>leave</div><div><br><blockquote type="cite">On 3 Jun 2024, at 10:00, Bot '
        "&lt;b@x.org&gt; wrote:<br><div>Hi</div></blockquote></div>",
        "leave\n\n> On 3 Jun 2024, at 10:00, Bot <b@x.org> wrote:\n> Hi",
    ),
    (
        "thunderbird cite prefix",
        '<p>join</p><div class="moz-cite-prefix">On 03/06/2024 10:00, Bot wrote:<br></div>'
        '<blockquote type="cite" cite="mid:1@x">Hi</blockquote>',
        "join\n> On 03/06/2024 10:00, Bot wrote:\n> Hi",
    ),
    (
        "outlook divRplyFwdMsg quotes the rest",
        '<div>pause</div><hr><div id="divRplyFwdMsg"><b>From:</b> Bot<br><b>Sent:</b> Monday'
        "</div><div>Original text</div>",
        "pause\n> From: Bot\n> Sent: Monday\n> Original text",
    ),
    (
        "outlook appendonsend",
        '<div>join</div><div id="appendonsend"></div><div>From: Bot</div><p>old</p>',
        "join\n> From: Bot\n> old",
    ),
    (
        "outlook desktop border E1E1E1",
        '<p>leave</p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3pt">'
        "<p><b>From:</b> Bot</p></div><p>old body</p>",
        "leave\n> From: Bot\n> old body",
    ),
    (
        "outlook 2007 border B5C4DF",
        '<p>leave</p><div style="border:none;border-top:solid #B5C4DF 1.0pt">'
        "<p>From: Bot</p></div><p>old</p>",
        "leave\n> From: Bot\n> old",
    ),
    (
        "yahoo",
        '<div>join</div><div id="yahoo_quoted_123" class="yahoo_quoted">'
        "<div>On Monday, Bot wrote:</div><div>Hi</div></div>",
        "join\n> On Monday, Bot wrote:\n> Hi",
    ),
    (
        "protonmail",
        '<div>pause</div><div class="protonmail_quote">Bot wrote:<blockquote>Hi</blockquote></div>',
        "pause\n> Bot wrote:\n> Hi",
    ),
    (
        "gmail signature",
        'join<div class="gmail_signature">Anne<br>ACME</div>',
        "join\n-- \nAnne\nACME",
    ),
    (
        "thunderbird signature",
        '<p>join</p><pre class="moz-signature" cols="72">-- \nAnne</pre>',
        "join\n-- \nAnne",
    ),
    ("typed signature dashes", "join<div>--&nbsp;</div><div>Anne</div>", "join\n-- \nAnne"),
    ("malformed", "<div<p>join</b></i><<>>&bogus; <a href='x", None),
]


@pytest.mark.parametrize(
    ("html", "expected"),
    [case[1:] for case in HTML_CASES],
    ids=[case[0] for case in HTML_CASES],
)
def test_html_to_text(html: str, expected: str | None) -> None:
    text = html_to_text(html)
    if expected is not None:  # None: only "does not raise"
        assert text == expected


@pytest.mark.parametrize(
    ("html", "first_lines"),
    [
        (GMAIL_HTML.decode(), ["pause"]),
        ('<div>join</div><div class="gmail_signature">Anne</div>', ["join"]),
        ('<div>x</div><div id="divRplyFwdMsg">From: Bot</div>leave me', ["x"]),
    ],
)
def test_html_then_command_lines(html: str, first_lines: list[str]) -> None:
    assert command_lines(html_to_text(html)) == first_lines


# ---------------------------------------------------------------- command_lines

ATTRIBUTIONS = [
    "On Mon, 3 Jun 2024, Anne <a@x.org> wrote:",
    "On Mon, Jun 3, 2024 at 10:00 AM Anne Example <anne@example.org> wrote:",
    "On 3 Jun 2024, at 10:00, Anne <a@x.org> wrote:",
    "On 03/06/2024 10:00, Anne wrote:",
    "Anne <a@x.org> writes:",
    "Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Anne <a@x.org>:",
    "Am 03.06.2024 um 10:00 schrieb Anne:",
    "Le lun. 3 juin 2024 à 10:00, Anne <a@x.org> a écrit :",
    "Le 03/06/2024 à 10:00, Anne a\u00a0écrit\u00a0:",
    "El lun, 3 jun 2024 a las 10:00, Anne (<a@x.org>) escribió:",
    "Op ma 3 jun. 2024 om 10:00 schreef Anne <a@x.org>:",
    "Il giorno lun 3 giu 2024 alle ore 10:00 Anne <a@x.org> ha scritto:",
    "Em seg., 3 de jun. de 2024 às 10:00, Anne <a@x.org> escreveu:",
    "Den mån 3 juni 2024 kl 10:00 skrev Anne <a@x.org>:",
    "W dniu 3.06.2024 o 10:00 Anne <a@x.org> napisał(a):",
    "3 июня 2024 г., в 10:00, Anne <a@x.org> написал:",
]


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_attribution_lines_stop_reading(attribution: str) -> None:
    text = f"pause\nuntil July\n\n{attribution}\n\n> old stuff\n"
    assert command_lines(text) == ["pause", "until July"]


@pytest.mark.parametrize(
    "wrapped",
    [
        "On Mon, 3 Jun 2024, Anne <a@x.org>\nwrote:",
        "On Mon, Jun 3, 2024 at 10:00 AM Anne Example <\nanne@example.org> wrote:",
        '03.06.2024 10:00 пользователь "a@x.org" <\na@x.org> написал:',
    ],
)
def test_wrapped_attribution(wrapped: str) -> None:
    assert command_lines(f"join\n{wrapped}\nold text") == ["join"]


CUT_CASES = [
    ("dash dash space", "join\n-- \nAnne\nACME"),
    ("dash dash", "join\n--\nAnne"),
    ("quoted line", "join\n> pause\n> leave"),
    ("original message", "join\n\n-----Original Message-----\nFrom: Bot\nold"),
    ("original message spaced", "join\n----- Original Message -----\nFrom: Bot"),
    ("german original", "join\n-----Ursprüngliche Nachricht-----\nVon: Bot"),
    ("french original", "join\n-----Message d'origine-----\nDe : Bot"),
    ("underscore rule then from", "join\n________________________________\nFrom: Bot <b@x>\nold"),
    ("outlook from/sent", "join\nFrom: Bot <b@x.org>\nSent: Monday, June 3, 2024 10:00\nTo: me"),
    ("outlook from/date later", "join\nFrom: Bot\nTo: Anne\nCc: Bob\nDate: Mon"),
    ("outlook bold", "join\n*From:* Bot <b@x.org>\n*Sent:* Monday\n*To:* Anne"),
    ("outlook german", "join\nVon: Bot <b@x.org>\nGesendet: Montag, 3. Juni 2024\nAn: Anne"),
    ("outlook french", "join\nDe : Bot <b@x.org>\nEnvoyé : lundi 3 juin 2024\nÀ : Anne"),
    ("outlook spanish", "join\nDe: Bot\nEnviado: lunes\nPara: Anne"),
    ("gmail forward", "join\n---------- Forwarded message ---------\nFrom: Bot"),
    ("thunderbird forward", "join\n-------- Forwarded Message --------\nSubject: x"),
    ("apple forward", "join\nBegin forwarded message:\n\nFrom: Bot"),
    ("iphone", "join\n\nSent from my iPhone"),
    ("android", "join\nSent from my Android"),
    ("samsung", "join\nSent from my Samsung Galaxy smartphone."),
    ("outlook ios", "join\nGet Outlook for iOS<https://aka.ms/o0ukef>"),
    ("outlook android", "join\nGet Outlook for Android"),
    ("mail for windows", "join\nSent from Mail for Windows"),
    ("yahoo mobile", "join\nSent from Yahoo Mail for iPhone"),
    ("french iphone", "join\nEnvoyé de mon iPhone"),
    ("german iphone", "join\nVon meinem iPhone gesendet"),
    ("spanish iphone", "join\nEnviado desde mi iPhone"),
    ("dutch iphone", "join\nVerzonden vanaf mijn iPhone"),
    ("italian iphone", "join\nInviato da iPhone"),
]


@pytest.mark.parametrize("text", [case[1] for case in CUT_CASES], ids=[c[0] for c in CUT_CASES])
def test_command_lines_stop_at_quoted_material(text: str) -> None:
    assert command_lines(text) == ["join"]


KEEP_CASES = [
    (
        "several commands",
        "join\n\n  pause 2 weeks  \n\nthanks!",
        ["join", "pause 2 weeks", "thanks!"],
    ),
    (
        "prose mentioning wrote",
        "pause\nAs I wrote:\nI'm away",
        ["pause", "As I wrote:", "I'm away"],
    ),
    ("on at line start", "On Monday I'm free\njoin", ["On Monday I'm free", "join"]),
    ("lone from line", "From tomorrow: pause\nthanks", ["From tomorrow: pause", "thanks"]),
    ("from line without headers", "From: Anne\njoin\nplease", ["From: Anne", "join", "please"]),
    ("dashes inside text", "join -- now\n---", ["join -- now", "---"]),
    ("zero width and nbsp", "\ufeff\u200bjoin\u00a0now\u200b\n\u00a0\n", ["join now"]),
    ("windows newlines", "join\r\npause\r\n", ["join", "pause"]),
    ("empty", "", []),
    ("only quote", "> old\n> text", []),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in KEEP_CASES], ids=[c[0] for c in KEEP_CASES]
)
def test_command_lines_keeps_typed_lines(text: str, expected: list[str]) -> None:
    assert command_lines(text) == expected


@pytest.mark.parametrize(
    "typed",
    ["On holiday in June, pause", "2 weeks pause", "Le café: join", "Am Montag: pause"],
)
@pytest.mark.parametrize(
    "attribution", ["On Mon, 3 Jun 2024, Anne <a@x.org> wrote:", "Anne <a@x.org> wrote:"]
)
def test_wrapped_attribution_does_not_eat_typed_line(typed: str, attribution: str) -> None:
    assert command_lines(f"{typed}\n{attribution}\n> hi") == [typed]


def test_bottom_posted_reply_is_read_after_the_quote() -> None:
    text = "On 03/06/2024 10:00, Bot wrote:\n> Your match is Bob.\n>\n\npause\n\n-- \nAnne"
    assert command_lines(text) == ["pause"]


def test_forward_without_typed_text_is_empty() -> None:
    assert command_lines("---------- Forwarded message ---------\nFrom: Bot\n\njoin") == []


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_command_lines_limit(limit: int) -> None:
    text = "\n".join(f"line {n}" for n in range(100))
    assert command_lines(text, limit=limit) == [f"line {n}" for n in range(limit)]


def test_command_lines_default_limit() -> None:
    assert len(command_lines("x\n" * 100)) == 30


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            HEAD + b"Content-Type: text/plain\r\n\r\njoin\r\n\r\nOn Mon, 3 Jun 2024 at 10:00, "
            b"Bot <b@x.org> wrote:\r\n> Welcome!\r\n",
            ["join"],
        ),
        (HEAD + b"Content-Type: text/html\r\n\r\n" + GMAIL_HTML, ["pause"]),
        (
            HEAD + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
            b"quoted-printable\r\n\r\nleave=C2=A0\r\n\r\nSent from my iPhone\r\n",
            ["leave"],
        ),
    ],
)
def test_end_to_end(raw: bytes, expected: list[str]) -> None:
    assert command_lines(body_text(parse(raw))) == expected


# ---------------------------------------------------------------- never raise

TRICKY = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b'Content-Type: multipart/alternative; boundary=""\r\n',
        b"Content-Type: text/html; charset=x-unknown\r\n",
        b"Content-Type: text/plain; charset=utf-16\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Disposition: attachment\r\n",
        b"\r\n--b\r\n",
        b"\r\n--b--\r\n",
        b"<blockquote><div class=gmail_quote>",
        b"\r\n\r\n",
        b"=?utf-8?b?zz?=",
        b"\xff\xfe\x80",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(TRICKY, st.binary(max_size=40)), max_size=12))
def test_body_text_never_raises_on_mime_fragments(chunks: list[bytes]) -> None:
    text = body_text(parse(b"".join(chunks)))
    assert isinstance(text, str)
    assert isinstance(command_lines(text), list)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_body_text_never_raises_on_bytes(raw: bytes) -> None:
    assert isinstance(body_text(parse(raw)), str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_html_and_lines_never_raise(text: str) -> None:
    assert isinstance(command_lines(html_to_text(text)), list)
    assert isinstance(command_lines(text, limit=5), list)


def test_outlook_stop_spelling_rule_and_owa_prefixed_ids_start_the_history():
    html = '<div>New text here</div><hr id="stopSpelling"><div>From: Bot<br>Old text</div>'
    assert html_to_text(html).splitlines()[0] == "New text here"
    assert all(line.startswith(">") for line in html_to_text(html).splitlines()[1:] if line)
    owa = '<p>Mine</p><div id="x_divRplyFwdMsg"><b>From:</b> Bot</div><div>Theirs</div>'
    assert [ln for ln in html_to_text(owa).splitlines() if not ln.startswith(">")] == ["Mine"]
