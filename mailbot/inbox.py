"""The inbox edge: IMAP (imapclient) and the embedded local mailbox behind one small Protocol.

A message is identified by (mailbox, UIDVALIDITY, UID). The service commits a message's effects
first and only then calls ``done`` (move to Processed, or flag), so a crash in between leaves the
message in the inbox, where the store recognises it and it is only moved.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailbot.config import ImapConfig
from mailbot.errors import InboxError

log = logging.getLogger(__name__)

DONE_FLAG = "$MailbotDone"
FAILED_FLAG = "$MailbotFailed"


@dataclass(frozen=True)
class InboundItem:
    mailbox: str
    uidvalidity: int
    uid: str
    raw: bytes  # empty when the message is over the size limit and was not fetched
    size: int


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

    def close(self) -> None: ...


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
        self._select()

    def _connect(self) -> IMAPClient:
        c = self.config
        context = tls_context(c.ca_file) if c.security != "none" else None
        try:
            client = IMAPClient(
                c.host, port=c.port, ssl=c.security == "ssl", ssl_context=context, timeout=c.timeout
            )
            if c.security == "starttls":
                client.starttls(context)
            client.login(c.username, c.password)
        except IMAPClient.Error as exc:
            raise InboxError(
                f"IMAP login to {c.host}:{c.port} as {c.username} failed: {_text(exc)}"
            ) from exc
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            raise InboxError(f"cannot reach IMAP server {c.host}:{c.port}: {exc}") from exc
        return client

    def _select(self) -> None:
        try:
            info = self.client.select_folder(self.config.folder)
            self.uidvalidity = int(info.get(b"UIDVALIDITY", 0))
            if self.config.after == "move":
                for folder in (self.config.processed_folder, self.config.failed_folder):
                    if not self.client.folder_exists(folder):
                        self.client.create_folder(folder)
        except (IMAPClientError, OSError) as exc:
            raise InboxError(f"cannot open IMAP folder {self.config.folder}: {_text(exc)}") from exc

    @property
    def mailbox(self) -> str:
        return f"imap:{self.config.username}@{self.config.host}/{self.config.folder}"

    def count(self) -> int:
        return len(self._search())

    def _search(self) -> list[int]:
        if self.config.after == "flag":
            criteria = ["NOT", "DELETED", "UNKEYWORD", DONE_FLAG, "UNKEYWORD", FAILED_FLAG]
        else:
            criteria = ["NOT", "DELETED"]
        return sorted(self.client.search(criteria))

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
            if self.config.after == "flag":
                self.client.add_flags(uids, [flag, b"\\Seen"])
            elif b"MOVE" in self.client.capabilities():
                self.client.move(uids, folder)
            else:
                self.client.copy(uids, folder)
                self.client.delete_messages(uids)
                if b"UIDPLUS" in self.client.capabilities():
                    self.client.uid_expunge(uids)
                else:
                    self.client.expunge()
        except (IMAPClientError, OSError) as exc:
            raise InboxError(f"cannot move messages to {folder}: {_text(exc)}") from exc

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
                except FileNotFoundError:
                    continue
                items.append(InboundItem(self.mailbox, 0, path.name.split(":")[0], raw, length))
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

    def close(self) -> None:
        pass
