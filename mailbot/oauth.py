"""OAuth2 access tokens for XOAUTH2 logins, fetched afresh for every connection.

Tokens expire (typically after an hour), so mailbot never keeps one: each IMAP or SMTP
connection runs ``token_command`` (no shell; its stdout is the token) or reads
``token_file`` (kept fresh by some other tool). A token is a secret: it is never logged,
and error messages never include it.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mailbot.errors import MailbotError

__all__ = ["TokenError", "TokenSource", "xoauth2_string"]


class TokenError(MailbotError):
    """No access token could be had from token_command or token_file."""


@dataclass(frozen=True)
class TokenSource:
    """Where a section's access token comes from: exactly one of ``command`` and ``file``.

    ``cwd`` is the config file's folder, so a relative command runs from there. The
    command is left out of ``repr``: its arguments may hold a client secret.
    """

    command: str = field(default="", repr=False)
    file: Path | None = None
    timeout: float = 60.0
    cwd: Path | None = None

    def fetch(self) -> str:
        """The current access token; raises TokenError with one clear line."""
        token = self._run() if self.command else self._read()
        if not token or any(c.isspace() or c == "\x01" for c in token):
            where = "token_command printed" if self.command else f"token_file {self.file} holds"
            problem = "nothing" if not token else "more than one word"
            raise TokenError(f"{where} {problem}; expected one access token")
        return token

    def _run(self) -> str:
        argv = shlex.split(self.command)
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                cwd=self.cwd,
            )
        except subprocess.TimeoutExpired:
            raise TokenError(
                f"token_command {argv[0]!r} did not finish within {self.timeout:g}s"
            ) from None
        except OSError as exc:
            reason = exc.strerror or exc
            raise TokenError(f"cannot run token_command {argv[0]!r}: {reason}") from exc
        if done.returncode != 0:
            # stderr says why; stdout might hold a token, so it is never shown.
            lines = done.stderr.strip().splitlines()
            detail = f": {lines[-1][:200]}" if lines else ""
            raise TokenError(
                f"token_command {argv[0]!r} failed with exit status {done.returncode}{detail}"
            )
        return done.stdout.strip()

    def _read(self) -> str:
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = (exc.strerror or exc) if isinstance(exc, OSError) else "not UTF-8 text"
            raise TokenError(f"cannot read token_file {self.file}: {reason}") from exc


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 initial client response, before base64 (Google's and Microsoft's format)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"
