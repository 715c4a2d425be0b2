"""Reading the receiving server's Authentication-Results (RFC 8601) for admin commands."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailbot.core.authres import check_sender, parse, verify
from mailbot.testing import make_mail

GOOD = (
    "mx.example.org; dkim=pass (2048-bit key) header.d=example.org header.s=s1 "
    'header.b="abc"; spf=pass (sender allowed) smtp.mailfrom=bounce@example.org; '
    "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org"
)


def mail(*results: str):
    msg = make_mail("Organiser <organiser@example.org>", "approve")
    for value in results:
        msg["Authentication-Results"] = value
    return msg


def test_parse_reads_methods_results_and_properties_and_drops_comments():
    header = parse(GOOD)
    assert header.authserv_id == "mx.example.org"
    assert [(r.method, r.result) for r in header.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert header.results[0].props["header.d"] == "example.org"
    assert parse("mx.example.org 1; none").results == ()
    assert parse("").authserv_id == ""


@pytest.mark.parametrize(
    "level, results, passed",
    [
        ("dmarc", [GOOD], True),
        ("dmarc", ["mx.example.org; dkim=pass header.d=example.org"], False),
        ("dkim", ["mx.example.org; dkim=pass header.d=example.org"], True),
        ("dkim", ["mx.example.org; dkim=pass header.d=mail.example.org"], True),  # relaxed
        ("dkim", ["mx.example.org; dkim=pass header.d=example.org.evil.test"], False),
        ("dkim", ["mx.example.org; dkim=pass header.d=org"], False),
        ("dkim", ["mx.example.org; spf=pass smtp.mailfrom=example.org"], False),
        ("spf", ["mx.example.org; spf=pass smtp.mailfrom=x@example.org"], True),
        ("spf", ["mx.example.org; spf=softfail smtp.mailfrom=example.org"], False),
        ("dmarc", ["mx.example.org; dmarc=pass"], False),  # for which domain?
        ("dmarc", ["mx.example.org; dmarc=pass header.from=other.example"], False),
        ("dmarc", [], False),
        ("none", [], True),
    ],
)
def test_levels_accept_a_pass_aligned_with_the_from_domain(level, results, passed):
    assert verify(mail(*results), "example.org", level)[0] is passed


def test_without_an_authserv_id_only_the_topmost_header_counts():
    forged_below = mail("mx.example.org; dmarc=fail header.from=example.org", GOOD)
    assert verify(forged_below, "example.org", "dmarc")[0] is False
    assert verify(mail(GOOD, "x; dmarc=fail"), "example.org", "dmarc")[0] is True


def test_with_an_authserv_id_only_that_servers_headers_count():
    forged = mail("mx.attacker.test; dmarc=pass header.from=example.org")
    passed, why = verify(forged, "example.org", "dmarc", "mx.example.org")
    assert not passed and "no Authentication-Results header from mx.example.org" in why
    real = mail("mx.attacker.test; dmarc=pass", GOOD.replace("mx.example.org", "MX.example.org"))
    assert verify(real, "example.org", "dmarc", "mx.example.org")[0] is True


def test_the_reason_says_what_was_seen():
    passed, why = verify(mail("mx.example.org; dkim=fail; dmarc=fail"), "example.org", "dkim")
    assert not passed and why == "needs dkim to pass for example.org; got dkim=fail, dmarc=fail"


def test_microsoft_365_headers_without_an_authserv_id_are_read():
    value = (
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.org; dkim=pass "
        "(signature was verified) header.d=example.org;dmarc=pass action=none "
        "header.from=example.org;compauth=pass reason=100"
    )
    header = parse(value)
    assert header.authserv_id == ""
    assert [r.method for r in header.results] == ["spf", "dkim", "dmarc", "compauth"]
    assert verify(mail(value), "example.org", "spf")[0] is True


@pytest.mark.parametrize(
    "value",
    [
        # a sender's MAIL FROM, quoted, copied in by the receiving server
        'mx.example.org; spf=neutral smtp.mailfrom="a; dmarc=pass header.from=example.org"'
        "@attacker.test; dmarc=fail header.from=example.org",
        # the same in a comment, as Gmail writes its SPF explanation
        "mx.example.org; spf=pass (mx.example.org: domain of x; dmarc=pass header.from="
        "example.org designates 192.0.2.1) smtp.mailfrom=attacker.test; dmarc=fail "
        "header.from=example.org",
        # an escaped quote must not end the quoted string early
        r'mx.example.org; spf=none smtp.mailfrom="a\"; dmarc=pass header.from=example.org'
        r'"@attacker.test; dmarc=fail header.from=example.org',
    ],
)
def test_quoted_strings_and_comments_cannot_smuggle_in_a_pass(value):
    assert verify(mail(value), "example.org", "dmarc", "mx.example.org")[0] is False
    header = parse(value)
    assert [r.method for r in header.results] == ["spf", "dmarc"]


def test_authserv_id_topmost_trusts_the_topmost_header():
    forged_below = mail("mx.example.org; dmarc=fail header.from=example.org", GOOD)
    assert verify(forged_below, "example.org", "dmarc", "topmost")[0] is False
    assert verify(mail(GOOD), "example.org", "dmarc", "topmost")[0] is True


def test_encoded_words_stay_encoded_and_smuggle_in_nothing():
    """A MAIL FROM that decodes to "x; dmarc=pass header.from=example.org;" must stay one
    opaque token: the header is read raw, never RFC 2047-decoded."""
    raw = (
        b"From: Organiser <organiser@example.org>\r\n"
        b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom="
        b"=?utf-8?q?x=3B_dmarc=3Dpass_header.from=3Dexample.org=3B?=@evil.test;\r\n"
        b" dmarc=fail header.from=example.org\r\n"
        b"Subject: approve\r\n\r\napprove\r\n"
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert verify(parsed, "example.org", "dmarc", "mx.example.org")[0] is False


# --------------------------------------------------------------------------- only the topmost
# Issue #10: the receiving server's genuine dmarc=fail sat on top, the attacker's own header
# with the same authserv-id and dmarc=pass below it; `approve` was accepted.

FORGED_BELOW = "mx.example.org; dmarc=pass header.from=example.org"
GENUINE_FAIL = (
    "mx.example.org; spf=fail smtp.mailfrom=example.org; dmarc=fail header.from=example.org"
)


def test_a_passing_header_below_the_servers_own_is_the_senders_words():
    msg = mail(GENUINE_FAIL, FORGED_BELOW)
    assert verify(msg, "example.org", "dmarc", "mx.example.org")[0] is False
    check = check_sender(msg, "example.org", "dmarc", "mx.example.org")
    assert (check.verified, check.failing) == (False, True)


def test_the_topmost_header_with_the_trusted_id_counts_even_below_another_id():
    msg = mail("relay.example.net; dmarc=fail header.from=example.org", GOOD)
    check = check_sender(msg, "example.org", "dmarc", "mx.example.org")
    assert check.verified and not check.failing


@pytest.mark.parametrize("level, results, verified", [
    ("dmarc", "mx.example.org; dkim=pass header.d=example.org", False),
    ("dkim", "mx.example.org; dkim=pass header.d=example.org", True),
    ("dkim", "mx.example.org; dkim=pass header.d=evil.test", False),
    ("spf", "mx.example.org; spf=pass smtp.mailfrom=x@example.org", True),
])  # fmt: skip
def test_members_are_verified_at_the_configured_level(level, results, verified):
    assert check_sender(mail(results), "example.org", level, "mx.example.org").verified is verified


def test_without_an_authserv_id_no_member_is_verified():
    check = check_sender(mail(GOOD), "example.org", "dmarc", "")
    assert not check.verified and "authserv_id" in check.why
