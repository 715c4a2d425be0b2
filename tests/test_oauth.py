"""XOAUTH2: access tokens from a command or a file, and real logins with them.

IMAP logs in to Dovecot 2.3, whose oauth2 passdb asks a loopback introspection endpoint
(RFC 7662, run here in a thread) whether a token is good; SMTP logs in to aiosmtpd after
STARTTLS. Each connection fetches a fresh token.
"""

from __future__ import annotations

import json
import logging
import shlex
import ssl
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailbot.checks import run_checks
from mailbot.config import ImapConfig, SmtpConfig, parse_config
from mailbot.errors import InboxError
from mailbot.inbox import ImapInbox
from mailbot.oauth import TokenError, TokenSource, xoauth2_string
from mailbot.outbox import SmtpTransport, TemporaryFailure
from mailbot.testing import make_mail
from tests.imap_helpers import append, folder_count
from tests.servers.dovecot import DovecotServer, start_dovecot
from tests.servers.smtp import SmtpSink

PYTHON = shlex.quote(sys.executable)

# Prints "<prefix>-<n>", n counting the runs in the file "count" beside the script.
TOKEN_SCRIPT = """\
import pathlib, sys
counter = pathlib.Path(__file__).with_name("count")
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print(f"  {sys.argv[1]}-{n}  ")
"""


def token_command(folder: Path, prefix: str) -> str:
    (folder / "token.py").write_text(TOKEN_SCRIPT)
    return f"{PYTHON} token.py {prefix}"  # relative: runs in the config's folder


def runs(folder: Path) -> int:
    count = folder / "count"
    return int(count.read_text()) if count.exists() else 0


# -- where tokens come from ---------------------------------------------------


def test_token_command_output_is_the_token_and_it_runs_each_time(tmp_path: Path) -> None:
    source = TokenSource(command=token_command(tmp_path, "tok"), cwd=tmp_path)
    assert source.fetch() == "tok-1"  # surrounding whitespace and the newline stripped
    assert source.fetch() == "tok-2"
    assert "token.py" not in repr(source)  # its arguments may hold a client secret


def test_token_command_failure_is_one_clear_line_without_its_output(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text(
        "import sys\nprint('half-a-token')\nprint('warming up', file=sys.stderr)\n"
        "print('refresh token expired', file=sys.stderr)\nsys.exit(3)\n"
    )
    source = TokenSource(command=f"{PYTHON} fail.py", cwd=tmp_path)
    with pytest.raises(TokenError) as caught:
        source.fetch()
    message = str(caught.value)
    assert message.endswith("failed with exit status 3: refresh token expired")
    assert "half-a-token" not in message


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("./no-such-helper --user bot", "cannot run token_command './no-such-helper': No such"),
        (f"{PYTHON} -c pass", "token_command printed nothing; expected one access token"),
        (f"{PYTHON} -c \"print('Bearer abc')\"", "printed more than one word"),
        (f"{PYTHON} -c 'import time; time.sleep(5)'", "did not finish within 0.5s"),
    ],
)
def test_token_command_problems(tmp_path: Path, command: str, expected: str) -> None:
    with pytest.raises(TokenError, match=expected):
        TokenSource(command=command, cwd=tmp_path, timeout=0.5).fetch()


def test_token_file_is_read_again_for_each_connection(tmp_path: Path) -> None:
    path = tmp_path / "token"
    source = TokenSource(file=path)
    with pytest.raises(TokenError, match=f"cannot read token_file {path}: No such file"):
        source.fetch()
    path.write_text("first\n")
    assert source.fetch() == "first"
    path.write_text("second")
    assert source.fetch() == "second"


def test_xoauth2_initial_response() -> None:
    assert xoauth2_string("bot@example.org", "abc") == (
        "user=bot@example.org\x01auth=Bearer abc\x01\x01"
    )


# -- IMAP against Dovecot's oauth2 passdb ---------------------------------------


class Introspection:
    """A loopback RFC 7662 endpoint: ``valid`` maps tokens to the user they belong to."""

    def __init__(self) -> None:
        self.valid: dict[str, str] = {}
        self.seen: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                token = urllib.parse.parse_qs(body).get("token", [""])[0]
                owner.seen.append(token)
                user = owner.valid.get(token)
                answer = {"active": True, "username": user} if user else {"active": False}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/introspect"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def introspection() -> Iterator[Introspection]:
    endpoint = Introspection()
    try:
        yield endpoint
    finally:
        endpoint.close()


@pytest.fixture(scope="module")
def dovecot_oauth_server(
    dovecot_usable: None, introspection: Introspection
) -> Iterator[DovecotServer]:
    server = start_dovecot(oauth2_introspection_url=introspection.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot_oauth(dovecot_oauth_server: DovecotServer, request: Any) -> DovecotServer:
    # A fresh user (with an empty mailbox) per test; its password is only for seeding mail.
    name = request.node.name.replace("[", "-").replace("]", "")[:40]
    return dovecot_oauth_server.as_user(f"{name}@example.org".lower(), "seed-password")


def xoauth2_imap(server: DovecotServer, source: TokenSource) -> ImapConfig:
    return ImapConfig(
        host=server.host,
        port=server.port,
        security="none",
        username=server.user,
        timeout=10.0,
        auth="xoauth2",
        token_source=source,
    )


@pytest.mark.imap
def test_imap_xoauth2_logs_in_and_polls(
    dovecot_oauth: DovecotServer, introspection: Introspection, tmp_path: Path
) -> None:
    append(dovecot_oauth, make_mail("anne@example.org", "join"))
    introspection.valid["imap-1"] = dovecot_oauth.user
    source = TokenSource(command=token_command(tmp_path, "imap"), cwd=tmp_path)
    inbox = ImapInbox(xoauth2_imap(dovecot_oauth, source))
    try:
        (batch,) = list(inbox.batches(size=10, max_bytes=100_000))
        assert b"join" in batch[0].raw
        inbox.done(batch)
    finally:
        inbox.close()
    assert folder_count(dovecot_oauth, "Processed") == 1
    assert introspection.seen[-1] == "imap-1"


@pytest.mark.imap
def test_imap_xoauth2_with_a_wrong_token_says_so(
    dovecot_oauth: DovecotServer, introspection: Introspection, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("not-a-known-token\n")
    introspection.valid["someone-elses"] = "anne@example.org"
    for token in ("not-a-known-token", "someone-elses"):
        (tmp_path / "token").write_text(token)
        with pytest.raises(InboxError) as caught:
            ImapInbox(xoauth2_imap(dovecot_oauth, TokenSource(file=tmp_path / "token")))
        message = str(caught.value)
        assert message.startswith(f"IMAP login to 127.0.0.1:{dovecot_oauth.port} as ")
        assert "with XOAUTH2 failed: [AUTHENTICATIONFAILED]" in message
        assert token not in message


@pytest.mark.imap
def test_imap_token_command_runs_for_every_connection(
    dovecot_oauth: DovecotServer, introspection: Introspection, tmp_path: Path
) -> None:
    for n in (1, 2, 3):
        introspection.valid[f"again-{n}"] = dovecot_oauth.user
    config = xoauth2_imap(
        dovecot_oauth, TokenSource(command=token_command(tmp_path, "again"), cwd=tmp_path)
    )
    for n in (1, 2, 3):
        ImapInbox(config).close()
        assert runs(tmp_path) == n
        assert introspection.seen[-1] == f"again-{n}"


@pytest.mark.imap
def test_imap_token_command_failure_stops_the_login(
    dovecot_oauth: DovecotServer, tmp_path: Path
) -> None:
    source = TokenSource(command=f"{PYTHON} -c 'import sys; sys.exit(2)'", cwd=tmp_path)
    with pytest.raises(InboxError, match="no access token for IMAP login as .*exit status 2"):
        ImapInbox(xoauth2_imap(dovecot_oauth, source))


# -- SMTP against aiosmtpd ------------------------------------------------------


@pytest.fixture
def oauth_sink(tls_ca: trustme.CA) -> Iterator[SmtpSink]:
    """Needs STARTTLS, then XOAUTH2 with a token listed in ``sink.valid_tokens``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    valid: set[bytes] = set()
    seen: list[bytes] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert mechanism == "XOAUTH2" and isinstance(data, LoginPassword)
        seen.append(data.password)
        ok = data.login == b"bot@example.org" and data.password in valid
        return AuthResult(success=ok, handled=False)

    with SmtpSink(tls_context=context, authenticator=authenticator) as sink:
        sink.valid_tokens, sink.seen_tokens = valid, seen  # type: ignore[attr-defined]
        yield sink


def xoauth2_smtp(sink: SmtpSink, ca_file: Path, source: TokenSource) -> SmtpConfig:
    return SmtpConfig(
        host=sink.host,
        port=sink.port,
        security="starttls",
        username="bot@example.org",
        timeout=10.0,
        ca_file=ca_file,
        auth="xoauth2",
        token_source=source,
    )


def test_smtp_xoauth2_sends_with_a_fresh_token_each_connection(
    oauth_sink: Any, tls_ca_file: Path, tmp_path: Path
) -> None:
    oauth_sink.valid_tokens.update({b"smtp-1", b"smtp-2"})
    source = TokenSource(command=token_command(tmp_path, "smtp"), cwd=tmp_path)
    transport = SmtpTransport(xoauth2_smtp(oauth_sink, tls_ca_file, source))
    raw = make_mail("bot@example.org", "Hello", to="anne@example.org").as_bytes()
    for _ in range(2):
        with transport.connect() as conn:
            assert conn.send("bot@example.org", ("anne@example.org",), raw) == {}
    assert len(oauth_sink.wait_for(2)) == 2
    assert oauth_sink.seen_tokens == [b"smtp-1", b"smtp-2"]


def test_smtp_xoauth2_with_a_wrong_token_says_so(
    oauth_sink: Any, tls_ca_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("expired-token")
    config = xoauth2_smtp(oauth_sink, tls_ca_file, TokenSource(file=tmp_path / "token"))
    with pytest.raises(TemporaryFailure) as caught:
        with SmtpTransport(config).connect():
            pass
    message = str(caught.value)
    assert message == (
        "SMTP login as bot@example.org with XOAUTH2 refused: "
        "535 5.7.8 Username and token not accepted"
    )
    assert oauth_sink.seen_tokens == [b"expired-token"] and len(oauth_sink) == 0


# -- from a config file, as `mailbot check` runs it ------------------------------


@pytest.mark.imap
def test_check_logs_in_with_xoauth2_from_the_config(
    dovecot_oauth: DovecotServer,
    introspection: Introspection,
    oauth_sink: Any,
    tls_ca_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    introspection.valid["cfg-1"] = dovecot_oauth.user
    (tmp_path / "smtp-token").write_text("smtp-secret-token\n")
    oauth_sink.valid_tokens.add(b"smtp-secret-token")
    data = {
        "bot": {"address": "unmentoring@example.org", "database": "mailbot.db"},
        "imap": {
            "host": dovecot_oauth.host,
            "port": dovecot_oauth.port,
            "security": "none",
            "username": dovecot_oauth.user,
            "auth": "xoauth2",
            "token_command": token_command(tmp_path, "cfg"),
        },
        "smtp": {
            "host": oauth_sink.host,
            "port": oauth_sink.port,
            "username": "bot@example.org",
            "ca_file": str(tls_ca_file),
            "auth": "xoauth2",
            "token_file": "smtp-token",
        },
    }
    config = parse_config(data, tmp_path / "mailbot.toml", {})
    # mailbot, imapclient, smtplib and aiosmtpd ("mail.log", which mailbot.embedded quietens)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="mail.log"):
        lines, _ = run_checks(config)
    assert any(line.startswith("ok    inbox imap:") for line in lines), lines
    assert any(line.startswith(f"ok    smtp: logged in to 127.0.0.1:{oauth_sink.port}")
               and "(XOAUTH2)" in line for line in lines)  # fmt: skip
    assert "AUTHENTICATE" in caplog.text and "AUTH XOAUTH2" in caplog.text  # logged, redacted
    assert "cfg-1" not in caplog.text and "smtp-secret-token" not in caplog.text
    assert "smtp-secret-token" not in repr(config)
