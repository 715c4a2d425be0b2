"""Read the receiving server's ``Authentication-Results`` (RFC 8601): is the sender verified?

Anyone can write anyone's address in From. What cannot be forged from outside is the verdict
the receiving server prepends after checking DKIM, SPF and DMARC, so a sender is verified only
when that verdict passes and its domain matches the From domain. Admin commands need it; a
member's changes to their own membership act at once with it, and otherwise wait for the
owner of the address to confirm by reply.

Which header to believe: a sender can add their own ``Authentication-Results`` lines too, even
with the receiving server's id. Only the topmost header carrying the configured
``authserv_id`` counts: the receiving server adds its verdict above everything that came with
the message (RFC 8601 section 5), so anything below it, or with another id, is the sender's own
words. With "topmost" (for servers that write no id, such as Microsoft 365) the topmost header
counts whatever its id; that is safe only if the server always adds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

LEVELS = ("dmarc", "dkim", "spf", "none")
_PASSING = {  # what each configured level accepts: itself and anything stronger
    "dmarc": ("dmarc",),
    "dkim": ("dmarc", "dkim"),
    "spf": ("dmarc", "dkim", "spf"),
}
_DOMAIN_PROPS = {
    "dmarc": ("header.from",),
    "dkim": ("header.d", "header.i"),
    "spf": ("smtp.mailfrom", "smtp.from"),
}


@dataclass(frozen=True)
class Result:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Header:
    authserv_id: str
    results: tuple[Result, ...]


def parse(value: str) -> Header:
    """One header value: ``mx.example.net; dkim=pass header.d=example.org; spf=fail ...``."""
    parts = _parts(value)
    head = parts[0]
    authserv_id = head[0].lower() if head else ""
    if "=" in authserv_id:  # Microsoft 365 writes no authserv-id: the first part is a result
        authserv_id, parts = "", [[], *parts]
    results = []
    for tokens in parts[1:]:
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        props = {}
        for token in tokens[1:]:
            key, eq, val = token.partition("=")
            if eq:
                props[key.lower()] = val.lower()
        results.append(Result(method.split("/")[0].lower(), result.lower(), props))
    return Header(authserv_id, tuple(results))


def _parts(value: str) -> list[list[str]]:
    """The ";"-separated parts of a header, each a list of tokens, as RFC 8601's grammar reads
    them: quoted strings stay whole (a sender's MAIL FROM may be ``"a; dmarc=pass"@x``, which
    the receiving server copies in) and comments go, however nested."""
    parts: list[list[str]] = [[]]
    token: list[str] = []
    quoted, depth, escaped = False, 0, False

    def end() -> None:
        if token:
            parts[-1].append("".join(token))
            token.clear()

    for char in value:
        if escaped:
            escaped = False
            if quoted:
                token.append(char)
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = char != '"'
            if quoted:
                token.append(char)
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif char == '"':
            quoted = True
        elif char == "(":
            end()
            depth = 1
        elif char == ";":
            end()
            parts.append([])
        elif char.isspace():
            end()
        else:
            token.append(char)
    end()
    return parts


def trusted_headers(msg: Message, authserv_id: str) -> list[Header]:
    # The raw values: decoding RFC 2047 first would turn a sender's MAIL FROM such as
    # "=?utf-8?q?x=3B_dmarc=3Dpass?=@evil.test", copied in by the server, into a result.
    values = [
        str(value).replace("\r", "").replace("\n", "")
        for name, value in msg.raw_items()
        if name.lower() == "authentication-results"
    ]
    headers = [parse(v) for v in values]
    if authserv_id and authserv_id != "topmost":
        headers = [h for h in headers if h.authserv_id == authserv_id.lower()]
    return headers[:1]  # the topmost: the receiving server's own, above all the sender wrote


@dataclass(frozen=True)
class SenderCheck:
    verified: bool  # the receiving server vouches for the From domain at `level`
    failing: bool  # it says DMARC fails for the From domain: a forgery, never acted for
    why: str


def check_sender(msg: Message, from_domain: str, level: str, authserv_id: str) -> SenderCheck:
    """What the receiving server's topmost trusted verdict says of a From domain."""
    if level == "none":
        return SenderCheck(True, False, "not checked (admin_auth = none)")
    if not authserv_id:
        return SenderCheck(False, False, "no authserv_id configured")
    headers = trusted_headers(msg, authserv_id)
    if not headers:
        return SenderCheck(False, False, f"no Authentication-Results header from {authserv_id}")
    header = headers[0]
    seen = [f"{r.method}={r.result}" for r in header.results]
    for r in header.results:
        if r.method == "dmarc" and r.result == "fail" and _aligned(r, from_domain):
            return SenderCheck(False, True, f"dmarc=fail for {from_domain} ({header.authserv_id})")
    for r in header.results:
        if r.method in _PASSING[level] and r.result == "pass" and _aligned(r, from_domain):
            why = f"{r.method}=pass for {from_domain} ({header.authserv_id})"
            return SenderCheck(True, False, why)
    return SenderCheck(
        False, False, f"needs {level} to pass for {from_domain}; got {', '.join(seen) or 'none'}"
    )


def verify(msg: Message, from_domain: str, level: str, authserv_id: str = "") -> tuple[bool, str]:
    """(passed, why) for a message claiming to come from ``from_domain``: admin commands."""
    check = check_sender(msg, from_domain, level, authserv_id or "topmost")
    return check.verified, check.why


def _aligned(result: Result, from_domain: str) -> bool:
    """Relaxed alignment: the verified domain and the From domain are one organisation's
    (equal, or one a subdomain of the other). A pass for another domain proves nothing."""
    domains = [result.props[p] for p in _DOMAIN_PROPS[result.method] if p in result.props]
    from_domain = from_domain.lower()
    for value in domains:
        domain = value.rpartition("@")[2]
        if "." in domain and (
            domain == from_domain
            or from_domain.endswith("." + domain)
            or domain.endswith("." + from_domain)
        ):
            return True
    return False
