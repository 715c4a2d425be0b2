"""Turn an incoming email into the few lines a person actually typed.

`body_text` picks the human-readable part of a message and decodes it without
ever raising, `html_to_text` flattens HTML (marking quoted history with "> "
and signatures with "-- "); `mailbot.core.reader` reads where the typed text ends.
Pure functions: no I/O, no clock, stdlib only.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from email.message import EmailMessage, Message
from html.parser import HTMLParser

__all__ = ["body_text", "html_to_text"]

# Guards against pathological MIME trees (e.g. fuzzed or hostile input).
_MAX_PARTS = 200
_MAX_DEPTH = 20


# --------------------------------------------------------------------------- body_text


def body_text(msg: EmailMessage) -> str:
    """The human text of `msg`: first non-blank text/plain part, else the first HTML part."""
    html = broken = None
    for kind, part in _leaves(msg):
        if kind == "text/plain":
            text = _decoded(part)
            if text.strip():
                return _normalise_newlines(text)
        elif kind == "text/html" and html is None:
            html = _decoded(part)
        elif kind == _BROKEN and broken is None:
            broken = _decoded(part)
    if html is not None:
        return _html_body(html)
    if broken is not None:
        return _normalise_newlines(_MIME_PLUMBING.sub("", broken)).strip("\n")
    return ""


# A multipart whose boundary never appears: its raw body is the only text there is.
_BROKEN = "broken-multipart"
_MIME_PLUMBING = re.compile(
    r"^(?:--\S{6,}|content-[\w-]+:.*|\s*boundary=.*|mime-version:.*)\r?$\n?",
    re.IGNORECASE | re.MULTILINE,
)


# HTML converted: what a person types comes first, and the reader reads no further anyway.
_MAX_HTML = 150_000


def _html_body(html: str) -> str:
    try:
        return html_to_text(html[:_MAX_HTML])
    except Exception:  # the converter is tolerant, but a bad body must never stop the bot
        return ""


def _leaves(msg: Message) -> Iterator[tuple[str, Message]]:
    """(content type, part) for leaf text parts in order; attachments and message/* skipped."""
    count = 0
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and count < _MAX_PARTS:
        part, depth = stack.pop()
        count += 1
        ctype = _content_type(part)
        if ctype.startswith("multipart/"):
            children = _children(part) if depth < _MAX_DEPTH else []
            if children is None:
                yield _BROKEN, part
            else:
                stack.extend((child, depth + 1) for child in reversed(children))
        elif ctype.startswith("text/") and not _is_attachment(part):
            yield ctype, part


def _children(part: Message) -> list[Message] | None:
    """Sub-parts of a multipart, or None when its boundary is missing or broken."""
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if not isinstance(payload, list):
        return None
    return [child for child in payload if isinstance(child, Message)]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:
        return False


def _decoded(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(data, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _decode_bytes(data, charset)


# Codecs that exist in Python but are not charsets anyone labels mail with honestly.
_NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"}
# Labels that mean "plain Western text"; senders often send UTF-8 or cp1252 under them.
_LOOSE_LABELS = {"ascii", "us_ascii", "latin_1", "iso8859_1", "iso_8859_1", "cp1252"}
_ALIASES = {"utf8mb4": "utf_8", "utf8mb3": "utf_8", "gb2312": "gbk", "x_sjis": "shift_jis"}


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode `data` as `charset`, guessing sensibly for missing, loose or bogus labels."""
    codec = _codec_name(charset)
    if codec is None:
        return _decode_guess(data)
    try:
        return data.decode(codec, errors="replace")
    except Exception:  # e.g. LookupError for non-text codecs such as "base64"
        return _decode_guess(data)


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower().replace("-", "_")
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name.replace("-", "_")
    except (LookupError, ValueError):
        return None
    if name in _NOT_CHARSETS or label in _LOOSE_LABELS or name in _LOOSE_LABELS:
        return None
    return name


def _decode_guess(data: bytes) -> str:
    """UTF-8 unless most non-ASCII bytes are invalid UTF-8, then Windows-1252 or Latin-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    non_ascii = sum(1 for byte in data if byte >= 0x80)
    if text.count("\ufffd") * 4 <= non_ascii:
        return text  # a few broken bytes in otherwise valid UTF-8
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- html_to_text

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
    "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
    "tbody", "thead", "tfoot", "tr", "ul",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title", "template"}
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
              "param", "source", "track", "wbr"}  # fmt: skip
_QUOTE_CLASSES = {"gmail_quote", "gmail_quote_container", "moz-cite-prefix",
                  "protonmail_quote"}  # fmt: skip
_SIGNATURE_CLASSES = {"gmail_signature", "moz-signature"}
# Outlook starts the quoted history here; the original message follows outside the div.
# OWA prefixes ids with "x_" when it re-quotes; Outlook 2010+ marks the cut with hr#stopSpelling.
_HISTORY_IDS = {"divrplyfwdmsg", "appendonsend", "x_divrplyfwdmsg", "x_appendonsend",
                "stopspelling"}  # fmt: skip
_HISTORY_STYLES = ("border-top:solid#e1e1e1", "border-top:solid#b5c4df")
_MAX_OPEN_TAGS = 500  # unclosed tags beyond this are ignored rather than tracked
_SPACES = re.compile(r"\s+")

# What an open element contributes to quoting.
_PLAIN, _CONTAINER, _BLOCKQUOTE = 0, 1, 2


def html_to_text(html: str) -> str:
    """Plain text of an HTML mail body; quoted history as "> " lines, signatures after "-- "."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # keep whatever was converted before the parser gave up
        pass
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.line_depth = 0
        self.stack: list[tuple[str, int]] = []  # (tag, _PLAIN/_CONTAINER/_BLOCKQUOTE)
        self.skipping: list[str] = []
        self.pre = 0
        self.history = False  # sticky: Outlook-style history runs to the end

    # ---- parser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.skipping.clear()  # tolerate a <head> that was never closed
            return
        if tag in _SKIP_TAGS:
            self.skipping.append(tag)
            return
        if self.skipping:
            return
        if tag == "br":
            self.newline(force=True)
            return
        if tag in _BLOCK_TAGS:
            self.newline()
        elif tag in ("td", "th"):
            self.space()
        attributes = {name: value or "" for name, value in attrs}
        if _starts_history(attributes):  # may be a void <hr>, so before the check below
            self.newline()
            self.history = True
        if tag in _VOID_TAGS or len(self.stack) >= _MAX_OPEN_TAGS:
            return
        self.stack.append((tag, _quote_kind(tag, attributes)))
        if _is_signature(attributes):
            self.newline()
            self.emit("-- ", self.depth())
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS and not self.skipping:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            if tag in self.skipping:
                while self.skipping and self.skipping.pop() != tag:
                    pass
            return
        if self.skipping or all(name != tag for name, _ in self.stack):
            return
        while self.stack:
            name, _ = self.stack.pop()
            if name == "pre":
                self.pre -= 1
            if name == tag:
                break
        if tag in _BLOCK_TAGS:
            self.newline()

    def handle_data(self, data: str) -> None:
        if self.skipping or not data:
            return
        if not self.pre:
            self.add(data, collapse=True)
            return
        first, *rest = data.replace("\r\n", "\n").split("\n")
        self.add(first, collapse=False)
        for piece in rest:
            self.newline(force=True)
            self.add(piece, collapse=False)

    # ---- output helpers

    def depth(self) -> int:
        """Blockquotes nest; a quote container or Outlook history counts as one level."""
        kinds = [kind for _, kind in self.stack]
        depth = kinds.count(_BLOCKQUOTE)
        if self.history or _CONTAINER in kinds:
            depth = max(depth, 1)
        return depth

    def space(self) -> None:
        if self.line and not self.line.endswith(" "):
            self.line += " "

    def add(self, data: str, collapse: bool) -> None:
        if collapse:
            data = _SPACES.sub(" ", data)
            if not self.line or self.line.endswith(" "):
                data = data.lstrip(" ")
        if not data:
            return
        depth = self.depth()
        if self.line and depth != self.line_depth:
            self.newline()
        if not self.line:
            self.line_depth = depth
        self.line += data

    def newline(self, force: bool = False) -> None:
        if self.line.strip():
            self.emit(self.line, self.line_depth)
        elif force:
            self.emit("", self.depth())
        self.line = ""

    def emit(self, line: str, depth: int) -> None:
        line = line.rstrip()
        if line.strip() == "--":
            line = "-- "  # the signature separator keeps its trailing space
        line = ("> " * depth + line).rstrip() if depth else line
        if line == "-- " and self.lines and self.lines[-1] == line:
            return  # a typed "-- " right after the one we emitted for a signature block
        self.lines.append(line)

    def text(self) -> str:
        self.newline()
        return _squeeze_blank_lines(self.lines)


def _classes(attributes: dict[str, str]) -> set[str]:
    return set(attributes.get("class", "").lower().split())


def _quote_kind(tag: str, attributes: dict[str, str]) -> int:
    if tag == "blockquote":
        return _BLOCKQUOTE
    classes = _classes(attributes)
    if classes & _QUOTE_CLASSES or any("yahoo_quoted" in name for name in classes):
        return _CONTAINER
    return _PLAIN


def _is_signature(attributes: dict[str, str]) -> bool:
    return bool(_classes(attributes) & _SIGNATURE_CLASSES)


def _starts_history(attributes: dict[str, str]) -> bool:
    if attributes.get("id", "").lower() in _HISTORY_IDS:
        return True
    style = re.sub(r"\s+", "", attributes.get("style", "").lower())
    return any(marker in style for marker in _HISTORY_STYLES)


def _squeeze_blank_lines(lines: list[str]) -> str:
    """Join lines, keeping at most one blank line in a row and none at the ends."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
