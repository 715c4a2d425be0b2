"""The slowest message shapes within ``max_message_bytes``: how long one message takes.

    python benchmarks/hostile.py [--mb 10]

Each shape is built at run time (about `--mb` megabytes, the default limit) and handled the
way `mailbot poll` handles a message: ``Service.process`` (parse, classify, read, act, commit)
on a real SQLite file, in local mode. The baseline is ``email.message_from_bytes`` of the same
bytes, the least any reader must do. Nothing asserts: it prints a table, the slowest shape,
and one target line (every shape well under a second).
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailbot.inbox import InboundItem  # noqa: E402
from mailbot.render import Renderer  # noqa: E402
from mailbot.service import Service  # noqa: E402
from mailbot.store import SqliteStore  # noqa: E402
from mailbot.testing import FixedClock, make_config  # noqa: E402

HEAD = "From: Anne Person <anne@example.org>\r\nTo: unmentoring@example.org\r\nSubject: help\r\n"


def shapes(size: int) -> dict[str, bytes]:
    ids = " ".join(f"<id{i}@example.org>" for i in range(size // 22))
    many = ", ".join(f"p{i}@example.org" for i in range(size // 18))
    html = "<div>" * (size // 10) + "help" + "</div>" * (size // 10)
    paras = "<p>help</p>" * (size // 11)
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\nhelp {i}\r\n" for i in
                    range(size // 50))  # fmt: skip
    nested = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
                     for i in range(size // 60))  # fmt: skip
    blob = base64.encodebytes(b"\0" * (size * 3 // 4)).decode()
    quoted = "> " + "\n> ".join(["old text"] * (size // 12))
    return {
        "plain help": (HEAD + "\r\nhelp\r\n").encode(),
        "References: 1 id a 22 bytes": (HEAD + f"References: {ids}\r\n\r\nhelp\r\n").encode(),
        "To: a long list": (HEAD.replace("To: unmentoring@example.org", f"To: {many}")
                            + "\r\nhelp\r\n").encode(),  # fmt: skip
        "Content-Type params": (HEAD + "Content-Type: text/plain; "
                                + "; ".join(f"a{i}=b" for i in range(size // 8))
                                + "\r\n\r\nhelp\r\n").encode(),  # fmt: skip
        "deeply nested HTML": (HEAD + "Content-Type: text/html\r\n\r\n" + html).encode(),
        "many HTML paragraphs": (HEAD + "Content-Type: text/html\r\n\r\n" + paras).encode(),
        "many MIME parts": (HEAD + "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                            + parts + "--b--\r\n").encode(),  # fmt: skip
        "nested multiparts": (HEAD + nested + "help\r\n").encode(),
        "a big attachment": (HEAD + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                             "Content-Type: text/plain\r\n\r\nhelp\r\n--b\r\n"
                             "Content-Type: application/octet-stream\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n" + blob
                             + "--b--\r\n").encode(),  # fmt: skip
        "one long line": (HEAD + "\r\n" + "help " * (size // 5)).encode(),
        "quoted history": (HEAD + "\r\nhelp\r\n\r\nOn Mon, 3 Jun 2024 at 10:00, Bob "
                           "<bob@example.org> wrote:\r\n" + quoted).encode(),  # fmt: skip
    }


def timed(work: Callable[[], object]) -> float:
    """Seconds `work` took; a shape that breaks the email package itself still has a time."""
    start = time.perf_counter()
    try:
        work()
    except RecursionError:
        pass
    return time.perf_counter() - start


PARSE_LIMIT = 10.0  # seconds: some shapes take the email package minutes, or hours


def parse_time(raw: bytes, path: Path) -> float:
    """The baseline, in a child process so that it can be stopped: parsing alone."""
    path.write_bytes(raw)
    code = ("import email, email.policy, sys, time; data = open(sys.argv[1], 'rb').read(); "
            "t = time.perf_counter(); email.message_from_bytes(data, policy=email.policy.default)"
            "; print(time.perf_counter() - t)")  # fmt: skip
    try:
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                              text=True, timeout=PARSE_LIMIT)  # fmt: skip
    except subprocess.TimeoutExpired:
        return PARSE_LIMIT
    return float(done.stdout.strip() or PARSE_LIMIT)  # a RecursionError: counted as the limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=10.0, help="size of each shape")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder), limits={"max_message_bytes": size + 1_000_000})
        store = SqliteStore(config.bot.database)
        store.migrate()
        service = Service(config, store, Renderer(), FixedClock())
        print(f"{'shape':<30} {'MB':>6} {'parse':>9} {'process':>9} {'ratio':>7}")
        worst = ("", 0.0)
        for uid, (name, raw) in enumerate(shapes(size).items(), start=1):
            item = InboundItem("INBOX", 1, str(uid), raw, len(raw))
            parse = parse_time(raw, Path(folder) / "shape.eml")
            process = timed(lambda item=item: service.inbox.handle_one(item))  # type: ignore[misc]
            worst = max(worst, (name, process), key=lambda pair: pair[1])
            mark = ">" if parse >= PARSE_LIMIT else " "
            print(f"{name:<30} {len(raw) / 1e6:>6.2f} {mark}{parse * 1e3:>6.0f}ms "
                  f"{process * 1e3:>7.0f}ms {process / max(parse, 1e-6):>6.1f}x")  # fmt: skip
        store.close()
    print(f"\nslowest: {worst[0]} ({worst[1] * 1e3:.0f} ms)")
    print(f"target: every shape under 1 s ........ {'yes' if worst[1] < 1 else 'no'}")


if __name__ == "__main__":
    main()
