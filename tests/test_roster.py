"""Reading a members CSV: rows in, every problem listed with its line (pure)."""

from __future__ import annotations

from mailbot.core.roster import parse_roster


def test_rows_with_any_column_order_and_a_bom():
    rows, problems = parse_roster(
        "\ufeffname,Email,org\nAnne Person,Anne@Example.org,Example Council\n\n,bob@example.net,\n"
    )
    assert problems == []
    assert [(r.line, r.email, dict(r.profile)) for r in rows] == [
        (2, "anne@example.org", {"name": "Anne Person", "org": "Example Council"}),
        (4, "bob@example.net", {}),
    ]


def test_every_problem_is_reported_with_its_line():
    rows, problems = parse_roster(
        "email,name\nnot-an-address,X\nanne@example.org,A\nanne@example.org,B\n"
    )
    assert problems == [
        "line 2: not-an-address is not an email address",
        "line 4: anne@example.org appears twice",
    ]


def test_unknown_columns_and_missing_email_column():
    assert parse_roster("who,name\n")[1][0].startswith("line 1: the first line")
    assert "unknown column(s) shoe" in parse_roster("email,shoe\n")[1][0]


def test_values_are_single_lines_within_limits():
    rows, _ = parse_roster('email,name,about\nanne@example.org,"Anne\nBcc: x",' + "y" * 300 + "\n")
    profile = dict(rows[0].profile)
    assert profile["name"] == "Anne Bcc: x"
    assert len(profile["about"]) == 200
