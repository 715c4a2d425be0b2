"""The CLI: thin commands over the service, one-line errors, documented in the README."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import main
from mailbot.outbox import deliver_local
from mailbot.testing import make_mail

ROOT = Path(__file__).resolve().parent.parent
BOT = "unmentoring@example.org"
CONFIG = f"""
[bot]
address = "{BOT}"
name = "UnMentoring"
[local]
maildir = "mail"
smtp_port = 0
"""


@pytest.fixture
def local(tmp_path):
    path = tmp_path / "mailbot.toml"
    path.write_text(CONFIG)
    return path


def run(*args: str, config: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    argv = (["--config", str(config)] if config else []) + list(args)
    result = runner.invoke(main, argv, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_init_poll_send_members_in_local_mode(local, tmp_path):
    assert run("init", config=local)[0] == 0
    deliver_local(
        tmp_path / "mail",
        BOT,
        make_mail("Anne Person <anne@example.org>", "join", "org: Example Council").as_bytes(),
    )
    code, out, _ = run("poll", config=local)
    assert code == 0 and "processed 1" in out
    code, out, _ = run("send", config=local)
    assert code == 0 and "sent 1" in out
    assert len(list((tmp_path / "mail" / "anne@example.org" / "new").iterdir())) == 1
    assert len(list((tmp_path / "mail" / BOT / ".Processed" / "cur").iterdir())) == 1

    code, out, _ = run("members", "--format", "json", config=local)
    [row] = json.loads(out)
    assert {k: row[k] for k in ("email", "name", "org", "state")} == {
        "email": "anne@example.org",
        "name": "Anne Person",
        "org": "Example Council",
        "state": "pending",
    }
    code, out, _ = run("members", "--format", "csv", config=local)
    assert list(csv.DictReader(io.StringIO(out)))[0]["state"] == "pending"
    code, out, _ = run("members", config=local)
    assert "anne@example.org" in out and "(1 member)" in out


def test_run_once_does_one_cycle(local, tmp_path):
    run("init", config=local)
    deliver_local(tmp_path / "mail", BOT, make_mail("bob@example.net", "help").as_bytes())
    code, _, _ = run("run", "--once", config=local)
    assert code == 0
    assert len(list((tmp_path / "mail" / "bob@example.net" / "new").iterdir())) == 1


def test_check_reports_each_part(local):
    run("init", config=local)
    code, out, _ = run("check", config=local)
    assert code == 0
    assert "ok    database" in out and "ok    inbox" in out and "ok    outbox" in out


def test_check_fails_with_a_reason_when_imap_is_unreachable(tmp_path):
    path = tmp_path / "mailbot.toml"
    path.write_text(f"""
[bot]
address = "{BOT}"
[imap]
host = "127.0.0.1"
port = 9
security = "none"
username = "bot"
timeout = 2
[smtp]
host = "127.0.0.1"
port = 9
security = "none"
timeout = 2
""")
    run("init", config=path)
    code, out, err = run("check", config=path)
    assert code == 1
    assert "FAIL  inbox: cannot reach IMAP server 127.0.0.1:9" in out
    assert "FAIL  smtp: cannot reach SMTP server 127.0.0.1:9" in out
    assert err.strip().startswith("error: ")


@pytest.mark.parametrize("args", [["poll"], ["members"], ["send"], ["init"]])
def test_expected_errors_are_one_line_without_traceback(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILBOT_CONFIG", raising=False)
    code, out, err = run(*args)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no config file at mailbot.toml" in err


def test_an_uninitialised_database_says_to_run_init(local):
    code, _, err = run("poll", config=local)
    assert code == 1 and "mailbot init" in err


def test_config_from_the_environment(local, monkeypatch):
    monkeypatch.setenv("MAILBOT_CONFIG", str(local))
    assert run("init")[0] == 0


def test_a_second_daemon_on_the_same_database_refuses_to_start(local):
    from mailbot.daemon import InstanceLock
    from mailbot.errors import MailbotError

    run("init", config=local)
    lock = InstanceLock(local.parent / "mailbot.db")
    lock.acquire()
    try:
        for command in ("run", "poll", "send"):
            code, _, err = run(command, config=local)
            assert code == 1 and "already running" in err, command
        with pytest.raises(MailbotError):
            InstanceLock(local.parent / "mailbot.db").acquire()
    finally:
        lock.release()


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in main.commands:
        assert re.search(rf"`mailbot {name}\b", readme), f"mailbot {name} is not in README.md"


def test_csv_export_cannot_smuggle_spreadsheet_formulas():
    from mailbot.tables import format_members

    row = {c: "" for c in ("email", "name", "org", "state")}
    row.update(email="eve@example.org", name='=HYPERLINK("http://x")', state="active")
    out = format_members(
        [{**dict.fromkeys(__import__("mailbot.tables").tables.MEMBER_COLUMNS), **row}], "csv"
    )
    assert "'=HYPERLINK" in out


def test_import_pair_dry_run_and_pair(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text(
        "email,name,org\nanne@example.org,Anne,A\nbob@example.net,Bob,B\n"
        "chloe@example.com,Chloe,C\n"
    )
    code, out, _ = run("import", str(roster), "--confirmed", config=local)
    assert code == 0 and "imported 3 member(s) as active" in out
    code, out, _ = run("pair", "--dry-run", "--format", "json", config=local)
    [group] = json.loads(out)["groups"]
    assert sorted(group) == ["anne@example.org", "bob@example.net", "chloe@example.com"]
    code, out, _ = run("pair", config=local)
    assert code == 0 and "round 1 made 1 group(s)" in out
    run("send", config=local)
    for person in ("anne@example.org", "bob@example.net", "chloe@example.com"):
        assert len(list((tmp_path / "mail" / person / "new").iterdir())) == 1


def test_import_reports_every_problem_and_imports_nothing(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text("email,name\nnope,A\nanne@example.org,Anne\nalso-bad,B\n")
    code, _, err = run("import", str(roster), config=local)
    assert code == 1
    assert "line 2: nope is not an email address" in err and "line 4" in err
    assert "nothing imported" in err
    code, out, _ = run("members", "--format", "json", config=local)
    assert json.loads(out) == []


def test_a_dry_runs_seed_makes_the_same_groups_for_real(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text("email\n" + "".join(f"p{n}@example.org\n" for n in range(8)))
    run("import", str(roster), "--confirmed", config=local)
    preview = json.loads(run("pair", "--dry-run", "--format", "json", config=local)[1])
    real = json.loads(
        run("pair", "--format", "json", "--seed", str(preview["seed"]), config=local)[1]
    )
    assert real["groups"] == preview["groups"]


def test_a_second_pair_soon_after_needs_force(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text("email\na@example.org\nb@example.net\n")
    run("import", str(roster), "--confirmed", config=local)
    assert run("pair", config=local)[0] == 0
    code, _, err = run("pair", config=local)
    assert code == 1 and "use --force" in err
    assert run("pair", "--force", config=local)[0] == 0


def test_excel_style_csv_semicolons_and_windows_1252(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_bytes(
        "E-mail;Name;Organisation\nzoe@example.org;Zoë Müller;Rathaus\n".encode("cp1252")
    )
    code, out, err = run("import", str(roster), "--confirmed", config=local)
    assert code == 0 and "read as Windows-1252" in err
    [row] = json.loads(run("members", "--format", "json", config=local)[1])
    assert (row["name"], row["org"]) == ("Zoë Müller", "Rathaus")


def test_followup_and_digest_preview_from_the_command_line(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text("email,name\na@example.org,Ann\nb@example.net,Ben\n")
    run("import", str(roster), "--confirmed", config=local)
    run("pair", config=local)
    code, out, _ = run("followup", config=local)
    assert code == 0 and "queued 2 follow-up(s)" in out
    assert "nothing to do" in run("followup", config=local)[1]
    html = tmp_path / "digest.html"
    code, out, _ = run("digest", "--preview", "--html", str(html), config=local)
    assert code == 0 and "Vol " in out and "1 group formed" in out
    assert "<table" in html.read_text()
    code, out, _ = run("digest", config=local)
    assert code == 0 and "digest queued for every reader" in out  # no admins: no moderation
    code, out, err = run("digest", "--preview", config=local)
    assert code == 0 and "Issue 2" in out
    assert "`mailbot digest` would refuse without --force" in err
    assert run("digest", config=local)[0] == 1


def test_learnings_lists_and_releases_flagged_ones(local, tmp_path):
    from mailbot.app import build_app
    from mailbot.config import load_config
    from mailbot.store import FollowupRow

    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text("email,name\na@example.org,Ann\nb@example.net,Ben\n")
    run("import", str(roster), "--confirmed", config=local)
    run("pair", config=local)
    run("followup", config=local)
    app = build_app(load_config(local))
    row = next(app.store.db.query("select * from followups where email = 'a@example.org'"))
    followup = FollowupRow(row["id"], row["round_id"], row["group_id"], row["email"])
    with app.store.atomic():
        app.store.add_learning(followup, "", "raw words", True, "nothing left", "public",
                               app.rounds.clock.now())  # fmt: skip
    app.close()
    code, out, _ = run("learnings", config=local)
    assert "REVIEW: nothing left" in out and "(1 unpublished learning)" in out
    code, out, _ = run("learnings", "--release", "1", "--text", "Trimmed words", config=local)
    assert code == 0
    [row] = json.loads(run("learnings", "--format", "json", config=local)[1])
    assert (row["text"], row["needs_review"]) == ("Trimmed words", 0)
    assert run("learnings", "--release", "9", config=local)[0] == 1


def test_export_and_forget_a_member(local, tmp_path):
    run("init", config=local)
    join = make_mail("Anne Person <anne@example.org>", "join", "phone: 01632 960123")
    deliver_local(tmp_path / "mail", BOT, join.as_bytes())
    run("poll", config=local)
    code, out, _ = run("export", "Anne@Example.org", config=local)
    data = json.loads(out)
    assert code == 0 and data["member"]["phone"] == "01632 960123"
    assert [row["verbs"] for row in data["mail_received"]] == ["join"]
    assert run("export", "nobody@example.org", config=local)[0] == 1
    code, out, _ = run("forget", "anne@example.org", "--yes", config=local)
    assert code == 0 and "erased anne@example.org" in out
    run("poll", config=local)  # the filed join goes too
    assert not list((tmp_path / "mail" / BOT / ".Processed" / "cur").iterdir())
    assert run("export", "anne@example.org", config=local)[0] == 1


def test_check_warns_about_secrets_others_can_read(tmp_path, monkeypatch):
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2\n")
    config = tmp_path / "mailbot.toml"
    config.write_text(
        f'[bot]\naddress = "{BOT}"\n[imap]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n'
        'username = "bot"\npassword = "inline-secret"\ntimeout = 1\n'
        '[smtp]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\nusername = "bot"\n'
        'password_file = "smtp-password"\ntimeout = 1\n'
    )
    config.chmod(0o644)
    secret.chmod(0o644)
    _, out, _ = run("check", config=config)
    assert f"{config} holds the imap password and others can read it" in out
    assert "(smtp.password_file) holds a secret and others can read it" in out
    assert "inline-secret" not in out and "hunter2" not in out
    config.chmod(0o600)
    secret.chmod(0o600)
    _, out, _ = run("check", config=config)
    assert "others can read it" not in out


@pytest.mark.parametrize("name", [
    'Anne;=HYPERLINK("http://x")', "Anne,+1+cmd|' /C calc'!A0", "Anne\t=1+1", "Anne | @SUM(1)",
    "Anne; -2+3", '=cmd', " @x",
])  # fmt: skip
def test_no_part_of_a_csv_cell_can_start_a_formula_under_any_delimiter(name):
    """Issue #10: a ";" in a name became a formula for spreadsheets that split on ";"."""
    from mailbot.tables import MEMBER_COLUMNS, format_members

    row = {**dict.fromkeys(MEMBER_COLUMNS, ""), "email": "eve@example.org", "name": name}
    out = format_members([row], "csv")
    for delimiter in (",", ";", "\t", "|"):
        for record in csv.reader(io.StringIO(out), delimiter=delimiter):
            for cell in record:
                assert cell.strip(' "')[:1] not in ("=", "+", "-", "@"), (delimiter, cell)


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{c}", "members"],
        ["members", "--config", "{c}"],
        ["members", "--config={c}", "--format", "csv"],
        ["-q", "members", "-v", "--config", "{c}"],
        ["--config", "/nowhere.toml", "members", "--config", "{c}"],  # the later one wins
    ],
)
def test_global_options_work_before_or_after_the_command(local, argv):
    assert run("init", config=local)[0] == 0
    args = [a.replace("{c}", str(local)) for a in argv]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "0 members" in result.stdout or result.stdout.startswith("email,")


def test_a_dry_run_predicts_pair_and_says_when_it_would_refuse(local, tmp_path):
    run("init", config=local)
    roster = tmp_path / "people.csv"
    roster.write_text("email,org\n" + "".join(f"p{n}@example.org,O{n % 3}\n" for n in range(9)))
    run("import", str(roster), "--confirmed", config=local)
    for _ in range(2):
        preview = json.loads(run("pair", "--dry-run", "--format", "json", config=local)[1])
        assert preview["refused"] == ""
    code, out, _ = run("pair", "--format", "json", config=local)
    assert json.loads(out)["groups"] == preview["groups"]  # no --seed needed

    preview = json.loads(run("pair", "--dry-run", "--format", "json", config=local)[1])
    assert preview["round"] == 2 and "round 1 ran on" in preview["refused"]
    code, out, _ = run("pair", "--dry-run", config=local)
    assert "`mailbot pair` would refuse now: round 1 ran on" in out
    assert "`mailbot pair --force` would make these groups" in out
    assert run("pair", config=local)[0] == 1
    forced = json.loads(run("pair", "--force", "--format", "json", config=local)[1])
    assert forced["groups"] == preview["groups"]


def test_members_say_who_gets_the_rounds_and_who_the_digest(local, tmp_path):
    run("init", config=local)
    for sender, subject in (("anne@example.org", "join"), ("dee@example.net", "subscribe digest")):
        deliver_local(tmp_path / "mail", BOT, make_mail(sender, subject).as_bytes())
    run("poll", config=local)
    run("send", config=local)
    for person in ("anne@example.org", "dee@example.net"):
        [confirm] = (tmp_path / "mail" / person / "new").iterdir()
        code = re.search(r"confirm ([a-z2-7]{24})", confirm.read_text()).group(1)
        deliver_local(tmp_path / "mail", BOT, make_mail(person, f"confirm {code}").as_bytes())
    run("poll", config=local)
    deliver_local(tmp_path / "mail", BOT, make_mail("anne@example.org", "digest off").as_bytes())
    run("poll", config=local)
    out = run("members", config=local)[1]
    assert re.search(r"anne@example.org .* active +rounds\n", out)
    assert re.search(r"dee@example.net .* active +digest\n", out)
    rows = {r["email"]: r for r in json.loads(run("members", "--format", "json", config=local)[1])}
    anne, dee = rows["anne@example.org"], rows["dee@example.net"]
    assert (anne["pairing"], anne["digest"], dee["pairing"], dee["digest"]) == (
        True, False, False, True)  # fmt: skip


def test_a_second_daemon_refuses_before_starting_a_mail_server(local):
    from mailbot.daemon import InstanceLock

    run("init", config=local)
    with InstanceLock(local.parent / "mailbot.db"):
        code, _, err = run("run", config=local)
    assert code == 1 and "another mailbot is already running" in err
    assert "SMTP" not in err


def test_members_as_json_and_csv_come_out_a_piece_at_a_time_and_whole():
    """#13: `members --format json` of 100,000 members peaked at 415 MiB; the output is now
    written a member at a time, and reads back as the one document it always was."""
    import csv
    import io

    from mailbot.tables import MEMBER_COLUMNS, member_lines

    rows = [{k: f"{k} {n} é, \"q\"" for k in MEMBER_COLUMNS} for n in range(3000)]
    pieces = list(member_lines(iter(rows), "json"))
    assert len(pieces) == 3001 and json.loads("".join(pieces)) == rows
    assert "".join(member_lines(iter([]), "json")) == "[]\n"
    pieces = list(member_lines(iter(rows), "csv"))
    assert len(pieces) > 2
    assert list(csv.DictReader(io.StringIO("".join(pieces)))) == rows
