"""The inbox edge: IMAP (imapclient) and the embedded local mailbox behind one small Protocol.

A message is identified by (mailbox, UIDVALIDITY, UID). The service commits a message's effects
first and only then calls ``done`` (move to Processed, or flag), so a crash in between leaves the
message in the inbox, where the store recognises it and it is only moved.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailbot.config import After, Auth, ImapConfig, Security
from mailbot.core.headers import READING, header_text, sender_address
from mailbot.errors import InboxError
from mailbot.faults import checkpoint
from mailbot.oauth import TokenError

log = logging.getLogger(__name__)

IDLE_MAX_SECONDS = 29 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes
DONE_FLAG = "$MailbotDone"
FAILED_FLAG = "$MailbotFailed"


@dataclass(frozen=True)
class InboundItem:
    mailbox: str
    uidvalidity: int
    uid: str
    raw: bytes  # empty when the message is over the size limit and was not fetched
    size: int
    headers: bytes = b""  # only for a message over the limit: enough to answer its sender


class Inbox(Protocol):
    def batches(self, size: int, max_bytes: int) -> Iterator[list[InboundItem]]:
        """Unprocessed messages, oldest first, a batch at a time."""
        ...

    def done(self, items: list[InboundItem]) -> None:
        """Acknowledge processed messages (after their effects are committed)."""
        ...

    def set_aside(self, items: list[InboundItem]) -> None:
        """Move messages that could not be processed out of the way."""
        ...

    def erase(self, address: str) -> int:
        """Delete every message from ``address`` that we filed away (``forget``)."""
        ...

    def close(self) -> None: ...


def message_id_of(raw: bytes) -> str:
    msg = BytesHeaderParser(policy=READING).parsebytes(raw)
    return header_text(msg, "Message-ID").strip()


def is_from(headers: bytes, address: str) -> bool:
    """Exactly this sender: IMAP's FROM search matches substrings (anne@ in joanne@)."""
    msg = BytesHeaderParser(policy=READING).parsebytes(headers)
    return sender_address(msg)[1] == address.lower()


def chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate checks stay on; ``ca_file`` adds a private CA (tests, in-house servers)."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class ImapInbox:
    def __init__(self, config: ImapConfig):
        self.config = config
        self.client = self._connect()
        self.uidvalidity = 0
        self.uidnext = 0  # at SELECT: mail arriving later gets this UID or a higher one
        self._select()

    def _connect(self) -> IMAPClient:
        c = self.config
        context = tls_context(c.ca_file) if c.security != Security.none else None
        try:
            client = IMAPClient(
                c.host, port=c.port, ssl=c.security == Security.ssl, ssl_context=context,
                timeout=c.timeout,
            )
            if c.security == Security.starttls:
                client.starttls(context)
            if c.auth == Auth.xoauth2:
                assert c.token_source is not None
                client.oauth2_login(c.username, c.token_source.fetch())
            else:
                client.login(c.username, c.password)
        except TokenError as exc:
            raise InboxError(f"no access token for IMAP login as {c.username}: {exc}") from exc
        except IMAPClient.Error as exc:
            how = " with XOAUTH2" if c.auth == Auth.xoauth2 else ""
            raise InboxError(
                f"IMAP login to {c.host}:{c.port} as {c.username}{how} failed: {_text(exc)}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise InboxError(
                f"IMAP server {c.host}:{c.port}: TLS certificate verify failed: "
                f"{exc.verify_message} (ca_file can name a private CA)"
            ) from exc
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            raise InboxError(f"cannot reach IMAP server {c.host}:{c.port}: {exc}") from exc
        return client

    def _select(self) -> None:
        try:
            info = self.client.select_folder(self.config.folder)
            self.uidvalidity = int(info.get(b"UIDVALIDITY", 0))
            self.uidnext = int(info.get(b"UIDNEXT", 0))
            if self.config.after == After.move:
                for folder in (self.config.processed_folder, self.config.failed_folder):
                    if not self.client.folder_exists(folder):
                        self.client.create_folder(folder)
        except (IMAPClientError, OSError) as exc:
            raise InboxError(f"cannot open IMAP folder {self.config.folder}: {_text(exc)}") from exc

    @property
    def mailbox(self) -> str:
        return f"imap:{self.config.username}@{self.config.host}/{self.config.folder}"

    def wait(self, since: tuple[int, int], seconds: float,
             should_stop: Callable[[], bool]) -> bool | None:  # fmt: skip
        """Wait in IMAP IDLE for new mail, up to `seconds` (at most 29 minutes, the limit
        servers allow); True when there is mail to fetch, False when the time ran out, None
        when the server offers no IDLE (the caller then polls). `since` is (UIDVALIDITY,
        UIDNEXT) as the last poll saw them: mail that arrived after that poll began but
        before this IDLE is found by a search first, so none waits a whole interval."""
        if b"IDLE" not in self.client.capabilities():
            return None
        uidvalidity, uidnext = since
        if uidvalidity != self.uidvalidity:
            return True  # renumbered: the next poll sorts it out
        criteria = ["UID", f"{max(uidnext, 1)}:*", *self._criteria()]
        if any(uid >= uidnext for uid in self.client.search(criteria)):  # n:* always has one
            return True
        self.client.idle()
        try:
            deadline = time.monotonic() + min(seconds, IDLE_MAX_SECONDS)
            while not should_stop():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                responses = self.client.idle_check(timeout=min(1.0, left))
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return True
            return False
        finally:
            self.client.idle_done()

    def count(self) -> int:
        return len(self._search())

    def _criteria(self) -> list[str]:
        if self.config.after == After.flag:
            return ["NOT", "DELETED", "UNKEYWORD", DONE_FLAG, "UNKEYWORD", FAILED_FLAG]
        return ["NOT", "DELETED"]

    def _search(self) -> list[int]:
        return sorted(self.client.search(self._criteria()))

    def batches(self, size: int, max_bytes: int) -> Iterator[list[InboundItem]]:
        try:
            uids = self._search()
        except (IMAPClientError, OSError) as exc:
            raise InboxError(f"IMAP search failed: {_text(exc)}") from exc
        for chunk in chunks(uids, size):
            try:
                yield self._fetch(chunk, max_bytes)
            except (IMAPClientError, OSError) as exc:
                raise InboxError(f"IMAP fetch failed: {_text(exc)}") from exc

    def _fetch(self, uids: list[int], max_bytes: int) -> list[InboundItem]:
        sizes = self.client.fetch(uids, ["RFC822.SIZE"])
        small = [u for u in uids if u in sizes and sizes[u].get(b"RFC822.SIZE", 0) <= max_bytes]
        bodies = self.client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        big = [u for u in uids if u in sizes and u not in small]
        heads = self.client.fetch(big, ["BODY.PEEK[HEADER]"]) if big else {}
        items = []
        for uid in uids:  # a UID missing here was deleted by someone else mid-poll: skip it
            if uid not in sizes:
                continue
            raw = bodies.get(uid, {}).get(b"BODY[]", b"") if uid in small else b""
            if uid in small and uid not in bodies:
                continue
            items.append(
                InboundItem(
                    self.mailbox,
                    self.uidvalidity,
                    str(uid),
                    raw or b"",
                    int(sizes[uid].get(b"RFC822.SIZE", 0)),
                    heads.get(uid, {}).get(b"BODY[HEADER]", b"") or b"",
                )
            )
        return items

    def done(self, items: list[InboundItem]) -> None:
        self._file(items, self.config.processed_folder, DONE_FLAG)

    def set_aside(self, items: list[InboundItem]) -> None:
        self._file(items, self.config.failed_folder, FAILED_FLAG)

    def _file(self, items: list[InboundItem], folder: str, flag: str) -> None:
        uids = [int(i.uid) for i in items if i.uidvalidity == self.uidvalidity]
        if not uids:
            return
        try:
            if self.config.after == After.flag:
                self.client.add_flags(uids, [flag, b"\\Seen"])
            elif b"MOVE" in self.client.capabilities():
                self.client.move(uids, folder)
            else:
                fresh = self._not_copied_yet(items, uids, folder)
                if fresh:
                    self.client.copy(fresh, folder)
                checkpoint("inbox.after_copy")
                self.client.delete_messages(uids)
                if b"UIDPLUS" in self.client.capabilities():
                    self.client.uid_expunge(uids)
                else:
                    self.client.expunge()
        except (IMAPClientError, OSError) as exc:
            raise InboxError(f"cannot move messages to {folder}: {_text(exc)}") from exc

    def _not_copied_yet(self, items: list[InboundItem], uids: list[int], folder: str) -> list[int]:
        """Without MOVE a message is copied, then deleted: killed in between, the original is
        still here next time. Look in the target for a copy (by Message-ID) so a restart does
        not file it twice. Only servers without MOVE pay for the searches."""
        ids = {int(i.uid): message_id_of(i.raw or i.headers) for i in items}
        copied: set[int] = set()
        if any(ids.values()):
            self.client.select_folder(folder, readonly=True)
            try:
                for uid, message_id in ids.items():
                    if message_id and self.client.search(["HEADER", "Message-ID", message_id]):
                        copied.add(uid)
            finally:
                self.client.select_folder(self.config.folder)
        return [u for u in uids if u not in copied]

    def erase(self, address: str) -> int:
        folders = (
            [self.config.folder]
            if self.config.after == After.flag
            else [self.config.processed_folder, self.config.failed_folder]
        )
        erased = 0
        try:
            for folder in folders:
                erased += self._erase_in(folder, address)
        except (IMAPClientError, OSError) as exc:
            raise InboxError(f"cannot erase mail from a forgotten member: {_text(exc)}") from exc
        finally:
            self._select()
        return erased

    def _erase_in(self, folder: str, address: str) -> int:
        self.client.select_folder(folder)
        candidates = self.client.search(["FROM", address])
        heads = self.client.fetch(candidates, ["BODY.PEEK[HEADER]"]) if candidates else {}
        uids = [u for u, d in heads.items() if is_from(d.get(b"BODY[HEADER]", b""), address)]
        if self.config.after == After.flag:  # only what we processed: the rest is not ours yet
            flags = self.client.get_flags(uids) if uids else {}
            done = {DONE_FLAG.encode(), FAILED_FLAG.encode()}
            uids = [u for u in uids if done & set(flags.get(u, ()))]
        if uids:
            self.client.delete_messages(uids)
            if b"UIDPLUS" in self.client.capabilities():
                self.client.uid_expunge(uids)
            else:
                self.client.expunge()
        return len(uids)

    def close(self) -> None:
        try:
            self.client.logout()
        except (IMAPClientError, OSError):
            pass


def _text(exc: BaseException) -> str:
    text = str(exc)
    return text.decode(errors="replace") if isinstance(text, bytes) else text


class MaildirInbox:
    """The embedded default's inbox: a Maildir folder with Processed and Failed subfolders.

    The file name (without its flags) is the UID; UIDVALIDITY is always 0.
    """

    def __init__(self, root: Path):
        self.root = root
        for sub in ("", ".Processed", ".Failed"):
            for part in ("new", "cur", "tmp"):
                (root / sub / part).mkdir(parents=True, exist_ok=True)

    @property
    def mailbox(self) -> str:
        return f"local:{self.root.name}"

    def _files(self) -> list[Path]:
        found = [p for part in ("new", "cur") for p in (self.root / part).iterdir() if p.is_file()]
        return sorted(found, key=lambda p: p.name)

    def count(self) -> int:
        return len(self._files())

    def batches(self, size: int, max_bytes: int) -> Iterator[list[InboundItem]]:
        files = self._files()
        for start in range(0, len(files), size):
            items = []
            for path in files[start : start + size]:
                try:
                    length = path.stat().st_size
                    raw = path.read_bytes() if length <= max_bytes else b""
                    head = b"" if raw else _read_headers(path)
                except FileNotFoundError:
                    continue
                uid = path.name.split(":")[0]
                items.append(InboundItem(self.mailbox, 0, uid, raw, length, head))
            yield items

    def _path(self, uid: str) -> Path | None:
        for part in ("new", "cur"):
            for candidate in (self.root / part).glob(uid + "*"):
                return candidate
        return None

    def done(self, items: list[InboundItem]) -> None:
        self._file(items, ".Processed")

    def set_aside(self, items: list[InboundItem]) -> None:
        self._file(items, ".Failed")

    def _file(self, items: list[InboundItem], folder: str) -> None:
        for item in items:
            path = self._path(item.uid)
            if path is not None:
                os.replace(path, self.root / folder / "cur" / (item.uid + ":2,S"))

    def erase(self, address: str) -> int:
        erased = 0
        for folder in (".Processed", ".Failed"):
            for part in ("new", "cur"):
                for path in (self.root / folder / part).iterdir():
                    if path.is_file() and is_from(_read_headers(path), address):
                        path.unlink(missing_ok=True)
                        erased += 1
        return erased

    def close(self) -> None:
        pass


def _read_headers(path: Path, limit: int = 256_000) -> bytes:
    """The header block of a message file, without reading a huge body."""
    with path.open("rb") as handle:
        return header_block(handle.read(limit))


def header_block(raw: bytes) -> bytes:
    """The headers of a message, up to the first empty line (CRLF or LF)."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0),
              default=len(raw))  # fmt: skip
    return raw[:end] + b"\n\n"
