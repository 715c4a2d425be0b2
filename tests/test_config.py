"""Loading the TOML config: the example loads, and every problem is reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.config import find_config_path, load_config, parse_config
from mailbot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_the_example_config_loads_and_every_key_is_commented():
    config = load_config(ROOT / "config.example.toml", {})
    assert config.bot.address == "unmentoring@example.org"
    assert config.imap and config.imap.security == "ssl" and config.imap.port == 993
    assert config.smtp and config.smtp.security == "starttls"
    assert config.bot.database == ROOT / "mailbot.db"  # relative to the config file
    for line in (ROOT / "config.example.toml").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line, f"uncommented key: {line}"


def test_all_problems_are_reported_together_with_their_keys(tmp_path):
    path = tmp_path / "mailbot.toml"
    path.write_text("""
[bot]
name = 3
[imap]
host = "imap.example.org"
security = "tls"
port = 99999
colour = "blue"
[smtp]
host = "smtp.example.org"
security = "none"
password_env = "NOPE_NOT_SET"
[extra]
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    message = str(caught.value)
    for expected in [
        "bot.address: required",
        "bot.name: expected a string",
        "imap.security: must be one of",
        "imap.port: must be from 1 to 65535",
        "imap.username: required",
        "imap.colour: unknown key",
        "smtp.security: 'none'",
        "smtp.password_env: $NOPE_NOT_SET is not set",
        "[extra]: unknown section",
    ]:
        assert expected in message


def test_passwords_come_from_env_or_file(tmp_path):
    (tmp_path / "pw").write_text("from-file\n")
    data = {
        "bot": {"address": "bot@example.org"},
        "imap": {"host": "127.0.0.1", "username": "u", "password_env": "PW", "security": "none"},
        "smtp": {"host": "localhost", "password_file": "pw", "security": "none"},
    }
    config = parse_config(data, tmp_path / "mailbot.toml", {"PW": "from-env"})
    assert config.imap.password == "from-env"
    assert config.smtp.password == "from-file"
    assert "from-env" not in repr(config)


def test_local_mode_needs_no_imap_or_smtp(tmp_path):
    config = parse_config(
        {"bot": {"address": "bot@example.org"}, "local": {}}, tmp_path / "x.toml", {}
    )
    assert config.imap is None and config.smtp is None
    assert config.local.maildir == tmp_path / "mail"


def test_config_path_order(monkeypatch):
    assert find_config_path("given.toml", {"MAILBOT_CONFIG": "env.toml"}) == Path("given.toml")
    assert find_config_path(None, {"MAILBOT_CONFIG": "env.toml"}) == Path("env.toml")
    assert find_config_path(None, {}) == Path("mailbot.toml")


def test_missing_and_broken_files_are_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="no config file"):
        load_config(tmp_path / "absent.toml", {})
    (tmp_path / "bad.toml").write_text("[bot\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml", {})


def test_xoauth2_takes_a_token_command_or_a_token_file(tmp_path):
    data = {
        "bot": {"address": "bot@example.org"},
        "imap": {
            "host": "imap.example.org",
            "username": "bot@example.org",
            "auth": "xoauth2",
            "token_command": "get-token --client-secret s3cret 'bot@example.org'",
            "timeout": 20,
        },
        "smtp": {
            "host": "smtp.example.org",
            "username": "bot@example.org",
            "auth": "xoauth2",
            "token_file": "tokens/smtp",
        },
    }
    config = parse_config(data, tmp_path / "mailbot.toml", {})
    imap, smtp = config.imap.token_source, config.smtp.token_source
    assert config.imap.auth == config.smtp.auth == "xoauth2"
    assert imap.command.startswith("get-token") and imap.file is None
    assert imap.cwd == tmp_path and imap.timeout == 20  # a relative command runs beside the file
    assert smtp.file == tmp_path / "tokens" / "smtp" and not smtp.command
    assert "s3cret" not in repr(config)
    assert config.imap.password == config.smtp.password == ""


def test_password_auth_is_the_default_and_has_no_token_source(tmp_path):
    data = {
        "bot": {"address": "bot@example.org"},
        "imap": {"host": "imap.example.org", "username": "u", "password": "p"},
        "smtp": {"host": "smtp.example.org"},
    }
    config = parse_config(data, tmp_path / "mailbot.toml", {})
    assert config.imap.auth == config.smtp.auth == "password"
    assert config.imap.token_source is None and config.smtp.token_source is None


def test_xoauth2_problems_are_reported_together(tmp_path):
    data = {
        "bot": {"address": "bot@example.org"},
        "imap": {
            "host": "imap.example.org",
            "username": "bot@example.org",
            "auth": "xoauth2",
            "password_env": "IMAP_PASSWORD",
            "token_command": "get-token 'unbalanced",
        },
        "smtp": {
            "host": "smtp.example.org",
            "auth": "xoauth2",
            "token_command": "get-token",
            "token_file": "token",
        },
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, tmp_path / "mailbot.toml", {"IMAP_PASSWORD": "p"})
    message = str(caught.value)
    for expected in [
        "imap.token_command: cannot split it into words: No closing quotation",
        'imap.password_env: not with auth = "xoauth2"',
        'smtp.username: required for auth = "xoauth2"',
        'smtp.auth: "xoauth2" needs exactly one of token_command, token_file',
    ]:
        assert expected in message
    data["imap"] = {"host": "imap.example.org", "auth": "xoauth2"}
    data["smtp"] = {"host": "smtp.example.org", "auth": "oauth", "token_file": "t"}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, tmp_path / "mailbot.toml", {})
    message = str(caught.value)
    assert "imap.username: required;" in message
    assert "imap.username: required for" not in message  # said once
    assert 'imap.auth: "xoauth2" needs exactly one of token_command, token_file' in message
    assert "smtp.auth: must be one of password, xoauth2, got 'oauth'" in message
    assert 'smtp.token_file: only for auth = "xoauth2"' in message


def test_an_empty_section_means_the_defaults_written_on_the_fields():
    """Each default is written once, on its dataclass field; the reader takes it from there."""
    from dataclasses import fields

    from mailbot.config import (
        After,
        Cadence,
        DaemonConfig,
        DigestConfig,
        ImapConfig,
        LimitsConfig,
        OnTimeout,
        RoundsConfig,
        Security,
        SmtpConfig,
        defaults,
        parse_config,
    )

    data = {"bot": {"address": "bot@example.org"},
            "imap": {"host": "imap.example.org", "username": "bot@example.org"},
            "smtp": {"host": "smtp.example.org"}}  # fmt: skip
    config = parse_config(data, Path("/x/mailbot.toml"), {})
    for cls, section in ((LimitsConfig, config.limits), (DaemonConfig, config.daemon),
                         (RoundsConfig, config.rounds), (DigestConfig, config.digest),
                         (ImapConfig, config.imap), (SmtpConfig, config.smtp)):  # fmt: skip
        expected = defaults(cls)
        for f in fields(cls):
            if hasattr(expected, f.name) and f.name != "username":  # given above
                assert getattr(section, f.name) == getattr(expected, f.name), (cls, f.name)
    assert config.imap is not None and config.smtp is not None
    assert type(config.imap.security) is Security and config.imap.after is After.move
    assert config.rounds.cadence is Cadence.monthly and config.digest.on_timeout is OnTimeout.send
    assert config.smtp.security is Security.starttls
