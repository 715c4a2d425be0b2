"""The outbox edge: hand queued messages to SMTP (or, embedded, to local mailboxes).

Errors are sorted into temporary (retry later, nothing lost) and permanent (this message
cannot be delivered), following SMTP's own 4xx/5xx split.
"""

from __future__ import annotations

import hashlib
import logging
import mailbox
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from mailbot.config import Auth, Security, SmtpConfig
from mailbot.errors import OutboxError
from mailbot.inbox import tls_context
from mailbot.oauth import TokenError, xoauth2_string

log = logging.getLogger(__name__)


class TemporaryFailure(OutboxError):
    """Try again later: the server is down, busy or said 4xx."""


class ConnectionLost(TemporaryFailure):
    """The connection is gone; the rest of the batch waits for the next run."""


class PermanentFailure(OutboxError):
    """The server refused this message for good (5xx)."""

    def __init__(self, message: str, refused: dict[str, str] | None = None):
        super().__init__(message)
        self.refused = refused or {}  # per recipient, when it refused the recipients


class Connection(Protocol):
    def send(self, mail_from: str, recipients: tuple[str, ...], raw: bytes) -> dict[str, str]:
        """Deliver one message; returns the recipients refused, with the reason."""
        ...


class Transport(Protocol):
    def connect(self) -> AbstractContextManager[Connection]:
        """One session for a batch of messages."""
        ...


class SmtpConnection:
    def __init__(self, client: smtplib.SMTP):
        self.client = client

    def send(self, mail_from: str, recipients: tuple[str, ...], raw: bytes) -> dict[str, str]:
        try:
            refused = self.client.sendmail(mail_from, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            each = {r: f"{c} {_decode(m)}" for r, (c, m) in exc.recipients.items()}
            reason = "; ".join(f"{r}: {e}" for r, e in each.items())
            if all(code >= 500 for code in codes):
                raise PermanentFailure(reason, each) from exc
            raise TemporaryFailure(reason) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise ConnectionLost(f"connection lost: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            reason = f"{exc.smtp_code} {_decode(exc.smtp_error)}"
            if exc.smtp_code >= 500:
                raise PermanentFailure(reason) from exc
            raise TemporaryFailure(reason) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionLost(f"connection failed: {exc}") from exc
        return {r: f"{c} {_decode(m)}" for r, (c, m) in refused.items()}


class SmtpTransport:
    def __init__(self, config: SmtpConfig):
        self.config = config

    @contextmanager
    def connect(self) -> Iterator[SmtpConnection]:
        client = self._open()
        try:
            yield SmtpConnection(client)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def _open(self) -> smtplib.SMTP:
        c = self.config
        try:
            client: smtplib.SMTP
            if c.security == Security.ssl:
                client = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=tls_context(c.ca_file)
                )
            else:
                client = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.security == Security.starttls:
                    client.starttls(context=tls_context(c.ca_file))
            if c.auth == Auth.xoauth2:
                assert c.token_source is not None
                response = xoauth2_string(c.username, c.token_source.fetch())
                # smtplib base64-encodes the initial response; a 334 challenge after it
                # carries the server's JSON error, answered with an empty line. Unlike
                # login(), auth() says no EHLO itself (and takes "503 send EHLO" as done).
                client.ehlo_or_helo_if_needed()
                client.auth("XOAUTH2", lambda challenge=None: "" if challenge else response)
            elif c.username:
                client.login(c.username, c.password)
        except TokenError as exc:
            raise TemporaryFailure(
                f"no access token for SMTP login as {c.username}: {exc}"
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            how = " with XOAUTH2" if c.auth == Auth.xoauth2 else ""
            raise TemporaryFailure(
                f"SMTP login as {c.username}{how} refused: "
                f"{exc.smtp_code} {_decode(exc.smtp_error)}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TemporaryFailure(
                f"SMTP server {c.host}:{c.port}: TLS certificate verify failed: "
                f"{exc.verify_message} (ca_file can name a private CA)"
            ) from exc
        except (TimeoutError, OSError, ssl.SSLError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot reach SMTP server {c.host}:{c.port}: {exc}") from exc
        return client

    def check(self) -> str:
        """What was done, exactly: a login only when one was configured (issue #10)."""
        c = self.config
        with self.connect() as conn:
            conn.client.noop()
        tls = {"ssl": " over TLS", "starttls": " with STARTTLS"}.get(c.security, "")
        if c.auth == Auth.xoauth2:
            return f"logged in to {c.host}:{c.port}{tls} as {c.username} (XOAUTH2)"
        if c.username:
            return f"logged in to {c.host}:{c.port}{tls} as {c.username}"
        return f"connected to {c.host}:{c.port}{tls}; no login (no username set)"


def _decode(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# An address is its own folder name only when it is plainly one: no path, no dot-dot, no
# character a file system or a shell treats specially. Any other gets a hashed name.
_PLAIN_ADDRESS = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,63}@[a-z0-9][a-z0-9.-]{0,200}$")


def mailbox_folder(root: Path, address: str) -> Path:
    """The Maildir of `address` under `root`: ``root/<address>/``, or for an address that
    could be a path (``/dev/null/x@example.org``, ``../x@y``) ``root/x-<hash>/`` with the
    address written in a file ``address`` inside. Never outside `root`."""
    address = address.lower()
    if _PLAIN_ADDRESS.match(address) and ".." not in address:
        return root / address
    digest = hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return root / f"x-{digest}"


def deliver_local(root: Path, recipient: str, raw: bytes) -> None:
    """Drop a message into the recipient's Maildir under `root`, which any mail client opens."""
    root.mkdir(parents=True, exist_ok=True)
    folder = mailbox_folder(root, recipient)
    new = not folder.exists()
    box = mailbox.Maildir(folder, create=True)
    if new and folder.name.startswith("x-"):
        (folder / "address").write_text(recipient + "\n", encoding="utf-8", errors="replace")
    box.add(raw)


class LocalConnection:
    def __init__(self, root: Path):
        self.root = root

    def send(self, mail_from: str, recipients: tuple[str, ...], raw: bytes) -> dict[str, str]:
        """Deliver to each recipient; one that cannot be written to is that recipient's
        failure (refused, as an SMTP server would), never the daemon's."""
        refused: dict[str, str] = {}
        for recipient in recipients:
            try:
                deliver_local(self.root, recipient, raw)
            except OSError as exc:
                log.warning("local delivery to %r failed: %s", recipient, exc)
                refused[recipient] = f"550 cannot deliver to this local mailbox: {exc.strerror}"
        return refused


class LocalTransport:
    """The embedded default: outgoing mail lands in local mailboxes."""

    def __init__(self, root: Path):
        self.root = root

    @contextmanager
    def connect(self) -> Iterator[LocalConnection]:
        yield LocalConnection(self.root)
