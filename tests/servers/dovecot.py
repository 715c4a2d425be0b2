"""Start a real, throw-away Dovecot IMAP server on loopback for tests.

Only for tests and local experiments: the server listens on 127.0.0.1 at a
port picked at run time, speaks plaintext IMAP (no TLS) unless given a
certificate, and keeps all of its configuration, sockets, logs and mail in one
temporary directory that :meth:`DovecotServer.stop` removes again.  The system
configuration in ``/etc/dovecot`` is never read.

    server = start_dovecot()
    try:
        with IMAPClient(server.host, port=server.port, ssl=False) as client:
            client.login(server.user, server.password)
            ...
    finally:
        server.stop()

Users live in one small passwd-file per user (``users/<name>``) so that a user
added while the server runs (:meth:`DovecotServer.add_user`) is seen at once:
Dovecot 2.3 stats a passwd-file at most once a second (so one shared file may
be served stale right after a change), but a new file is read on first use.
Every user gets its own empty maildir (and fresh UIDVALIDITY) on first login.

TLS (``start_dovecot(tls_cert=..., tls_key=...)``): STARTTLS on ``port`` and
implicit TLS on ``tls_port``; the PEM files are copied into the server's
directory, so they need not be readable by Dovecot's own users.

XOAUTH2 (``start_dovecot(oauth2_introspection_url=...)``): Dovecot's oauth2
passdb checks each bearer token by POSTing ``token=<token>`` to that URL, which
must answer a JSON object like ``{"active": true, "username": "bot@example.org"}``
(RFC 7662); the token is accepted when ``username`` is the user logging in.
Passwords keep working for PLAIN and LOGIN.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DovecotServer",
    "dovecot_available",
    "dovecot_unavailable_reason",
    "find_dovecot",
    "start_dovecot",
]

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
RESTART_PORT_WAIT = 10.0

# Characters allowed in user names: they become file names and Dovecot %u
# expansions, so keep them boring.
_USER_RE = re.compile(r"^[A-Za-z0-9_+=-][A-Za-z0-9._+=@-]{0,99}$")

_CONFIG = """\
# Written by tests.servers.dovecot; /etc/dovecot is deliberately not included.
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
debug_log_path = {root}/dovecot.log
instance_name = mailbot-test-{port}

{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
auth_failure_delay = 0
auth_verbose = yes

first_valid_uid = 1
first_valid_gid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {mail_group}

mail_location = maildir:~/Maildir
mail_max_userip_connections = 200
shutdown_clients = yes
login_greeting = Dovecot ready ({token}).

{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users/%u{passwd_mechanisms}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox INBOX {{
    auto = create
  }}
}}

# No chroots: they are pointless here and fail when not running as root.
service ipc {{
  chroot =
}}
# No brute-force slow-down: tests log in with wrong passwords on purpose.
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
  }}
}}
"""

_TLS_SETTINGS = """\
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem"""

_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""

# Dovecot 2.3's oauth2 passdb settings (the file named by the passdb's args).
_OAUTH2_SETTINGS = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


# Dovecot's master runs under this tiny Python "init" (argv: dovecot command).
# It makes itself a child subreaper (Linux), forwards SIGTERM/SIGINT/SIGHUP to
# the master, and once the master is gone it stops whatever the master left
# behind (imap processes serving connected clients, the log process) and exits
# only after every descendant has been reaped.  Without it those stragglers are
# re-parented to PID 1 -- which in containers often never reaps them.
_REAPER = """\
import ctypes, os, signal, sys, time
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except Exception:
    pass
master = []
def forward(sig, frame):
    for pid in master:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, forward)
master.append(os.posix_spawn(sys.argv[1], sys.argv[1:], dict(os.environ)))
code = 1
while True:
    pid, status = os.wait()
    if pid == master[0]:
        code = os.waitstatus_to_exitcode(status)
        code = code if code >= 0 else 128 - code
        break
master.clear()
def group():
    me, pgid = os.getpid(), os.getpgid(0)
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            try:
                if os.getpgid(int(name)) == pgid:
                    found.append(int(name))
            except OSError:
                pass
    return found
def reap(until):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() >= until:
                return False
            time.sleep(0.01)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 10.0)):
    try:
        os.killpg(0, sig) if sig == signal.SIGTERM else [os.kill(p, sig) for p in group()]
    except OSError:
        pass
    if reap(time.monotonic() + grace):
        break
sys.exit(code)
"""


def find_dovecot() -> str | None:
    """Path of the ``dovecot`` binary, also looking in the sbin folders."""
    override = os.environ.get("MAILBOT_DOVECOT")
    if override:
        return override if os.access(override, os.X_OK) else None
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which("dovecot", path=search)


def dovecot_unavailable_reason() -> str | None:
    """Why :func:`start_dovecot` cannot work here, or None if it should."""
    binary = find_dovecot()
    if binary is None:
        return "the dovecot binary was not found (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        try:
            pwd.getpwuid(os.geteuid())
        except KeyError:  # pragma: no cover - nameless uid
            return "the current uid has no user name, which Dovecot needs"
    else:
        for name in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                return f"system user {name!r} is missing (apt-get install dovecot-imapd)"
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {binary}: {exc}"
    if done.returncode != 0:
        return f"{binary} --version failed: {done.stderr.strip() or done.stdout.strip()}"
    return None


def dovecot_available() -> bool:
    """True when a Dovecot IMAP server can be started by :func:`start_dovecot`."""
    return dovecot_unavailable_reason() is None


def _user_ids(name: str) -> tuple[int, int]:
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _read_greeting(host: str, port: int, timeout: float) -> bytes | None:
    """First line the server sends, or None if it cannot be had (yet)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = b""
            while not data.endswith(b"\n") and len(data) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            with contextlib.suppress(OSError):
                sock.sendall(b"z LOGOUT\r\n")
            return data
    except OSError:
        return None


class _PortInUse(RuntimeError):
    """Dovecot could not bind its port."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tail_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


@dataclass
class _Instance:
    """Process state shared by a server and all of its per-user views."""

    binary: str
    host: str
    port: int
    root: Path
    conf: Path
    uid: int
    gid: int
    token: bytes
    proc: subprocess.Popen[bytes] | None = None
    removed: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def stderr_path(self) -> Path:
        return self.root / "dovecot.stderr"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no Dovecot log)"
        return "\n".join(text.splitlines()[-lines:]) or "(Dovecot log is empty)"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        with self.lock:
            if self.removed:
                raise RuntimeError(f"Dovecot server at {self.root} was stopped and removed")
            if self.running():
                return
            # A stale pid file of a killed master would make Dovecot refuse to start.
            with contextlib.suppress(FileNotFoundError):
                (self.root / "run" / "master.pid").unlink()
            marks = (_size(self.log_path), _size(self.stderr_path))
            with open(self.stderr_path, "ab") as out:
                self.proc = subprocess.Popen(
                    [sys.executable, "-c", _REAPER, self.binary, "-F", "-c", str(self.conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,  # own process group: _kill() can reap it whole
                    close_fds=True,
                )
            deadline = time.monotonic() + timeout
            greeting: bytes | None = None
            while True:
                if self.proc.poll() is not None:
                    code = self.proc.returncode
                    self._kill()
                    new = _tail_from(self.log_path, marks[0]) + _tail_from(
                        self.stderr_path, marks[1]
                    )
                    error = _PortInUse if "Address already in use" in new else RuntimeError
                    raise error(
                        f"Dovecot exited with status {code} while starting on "
                        f"{self.host}:{self.port}.\n{self.diagnostics()}"
                    )
                greeting = _read_greeting(self.host, self.port, timeout=1.0)
                if greeting and self.token in greeting and self.proc.poll() is None:
                    return
                if time.monotonic() >= deadline:
                    self._kill()
                    raise RuntimeError(
                        f"Dovecot did not greet on {self.host}:{self.port} within "
                        f"{timeout:.0f}s (last reply: {greeting!r}).\n{self.diagnostics()}"
                    )
                time.sleep(0.05)

    def diagnostics(self) -> str:
        stderr = _tail_from(self.stderr_path, 0).strip()
        parts = [f"Dovecot log ({self.log_path}):\n{self.log_tail()}"]
        if stderr:
            parts.append(f"Dovecot stderr:\n{stderr[-4000:]}")
        return "\n".join(parts)

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def _kill(self) -> None:
        """Stop the master and every child in its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # The supervisor passes SIGTERM to the master, then stops and reaps
            # whatever the master leaves behind (see _REAPER).
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
        # Stragglers (children that outlived a killed master) share the group.
        self._signal_group(signal.SIGKILL)
        self.proc = None

    def stop(self) -> None:
        with self.lock:
            self._kill()

    def remove(self) -> None:
        with self.lock:
            self._kill()
            if not self.removed:
                self.removed = True
                shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self, user: str, password: str) -> None:
        if not _USER_RE.match(user) or ".." in user:
            raise ValueError(f"unsupported test user name {user!r}")
        if any(ch in password for ch in ":\r\n"):
            raise ValueError("test passwords may not contain ':' or line breaks")
        with self.lock:
            users = self.root / "users"
            path = users / user
            tmp = users / f".{user}.tmp"
            tmp.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
            os.chmod(tmp, 0o644)
            try:
                old_mtime: float | None = path.stat().st_mtime
            except FileNotFoundError:
                old_mtime = None
            if old_mtime is not None:
                # Dovecot notices a changed passwd-file by (whole-second) mtime
                # and size: make sure the mtime moves even for same-length passwords.
                bumped = max(time.time(), int(old_mtime) + 1.0)
                os.utime(tmp, (bumped, bumped))
            os.replace(tmp, path)
            if old_mtime is not None:
                # ... and it stats a file at most once per second: wait for the
                # next second so the very next login sees the new password.
                time.sleep(1.05 - time.time() % 1.0)


@dataclass
class DovecotServer:
    """A running Dovecot on ``host:port``; log in as ``user``/``password``.

    ``root`` is the temporary directory with configuration, log and mail.
    ``tls_port`` is the implicit-TLS port when the server was given a
    certificate (``port`` then offers STARTTLS), else None.
    Views made by :meth:`as_user` share the same Dovecot process.
    """

    host: str
    port: int
    user: str
    password: str
    root: Path
    _instance: _Instance = field(repr=False, compare=False)
    tls_port: int | None = None
    _owner: bool = field(default=True, repr=False, compare=False)

    @property
    def log_path(self) -> Path:
        return self._instance.log_path

    @property
    def running(self) -> bool:
        return self._instance.running()

    @property
    def pid(self) -> int | None:
        """Process id (and process group) of the running server's supervisor, if any.

        The group holds the Dovecot master and all of its children.
        """
        proc = self._instance.proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def log_tail(self, lines: int = 40) -> str:
        return self._instance.log_tail(lines)

    def stop(self) -> None:
        """Stop Dovecot and wait for it.

        The server returned by :func:`start_dovecot` also removes its temporary
        directory (so it cannot be started again).  A view made by
        :meth:`as_user` only stops the process and keeps the mail, so that
        :meth:`start` or :meth:`restart` can bring the shared server back.
        """
        if self._owner:
            self._instance.remove()
        else:
            self._instance.stop()

    def start(self) -> None:
        """Start a stopped server again on the same port with the same mail."""
        if not self.running:
            self.restart()

    def restart(self) -> None:
        """Stop Dovecot (dropping every connection) and start it on the same port.

        Also starts a stopped server.  If the port is briefly unavailable the
        start is retried for a few seconds.
        """
        with self._instance.lock:
            self._instance.stop()
            deadline = time.monotonic() + RESTART_PORT_WAIT
            while True:
                try:
                    self._instance.start()
                    return
                except _PortInUse:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.2)

    def add_user(self, user: str, password: str) -> None:
        """Create a user, or change a user's password; takes effect immediately.

        Changing an existing user's password blocks for up to a second (see
        the module docstring).
        """
        self._instance.add_user(user, password)

    def as_user(self, user: str, password: str) -> DovecotServer:
        """Add ``user`` and return a view of this server logged in as that user."""
        self.add_user(user, password)
        return dataclasses.replace(self, user=user, password=password, _owner=False)

    def __enter__(self) -> DovecotServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _make_root() -> Path:
    # Short name straight under /tmp: Unix socket paths in base_dir must stay
    # below ~100 bytes, and Dovecot's unprivileged users must be able to
    # enter the directory (pytest's tmp_path is 0700).
    root = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))
    os.chmod(root, 0o755)
    return root


def start_dovecot(
    user: str = "bot@example.org",
    password: str = "secret",
    extra_users: dict[str, str] | None = None,
    *,
    timeout: float = START_TIMEOUT,
    tls_cert: str | os.PathLike[str] | None = None,
    tls_key: str | os.PathLike[str] | None = None,
    oauth2_introspection_url: str | None = None,
) -> DovecotServer:
    """Start a fresh Dovecot on 127.0.0.1 at a free port and wait for its greeting.

    With ``tls_cert`` (PEM: the certificate, then any intermediates) and
    ``tls_key`` it also serves TLS: STARTTLS on ``port``, implicit TLS on
    ``tls_port``.  With ``oauth2_introspection_url`` it accepts XOAUTH2 and
    OAUTHBEARER logins whose tokens that endpoint vouches for (see the module
    docstring).

    Raises RuntimeError (with the tail of Dovecot's log) if it does not come up.
    """
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("give both tls_cert and tls_key, or neither")
    binary = find_dovecot()
    if binary is None:
        raise RuntimeError("dovecot binary not found (apt-get install dovecot-imapd)")

    if os.geteuid() == 0:
        login_user, internal_user, mail_user = "dovenull", "dovecot", "dovecot"
        uid, gid = _user_ids(mail_user)
    else:
        # Unprivileged: every Dovecot process runs as the current user and group.
        login_user = internal_user = mail_user = pwd.getpwuid(os.geteuid()).pw_name
        uid, gid = os.geteuid(), os.getegid()
    mail_group = _group_name(gid)

    last_error: RuntimeError | None = None
    for _attempt in range(5):  # the free port can be taken before Dovecot binds it
        root = _make_root()
        instance: _Instance | None = None
        try:
            for sub in ("run", "state", "users"):
                (root / sub).mkdir(mode=0o755)
            home = root / "home"
            home.mkdir(mode=0o755)
            os.chown(home, uid, gid)

            port = _free_port()
            tls_port: int | None = None
            ssl_settings = "ssl = no"
            if tls_cert is not None and tls_key is not None:
                _copy_tls_files(root / "tls", Path(tls_cert), Path(tls_key))
                tls_port = _free_port()
                ssl_settings = _TLS_SETTINGS.format(root=root)
            oauth2_passdb = oauth2_mechanisms = passwd_mechanisms = ""
            if oauth2_introspection_url is not None:
                settings = root / "oauth2.conf.ext"
                settings.write_text(_OAUTH2_SETTINGS.format(url=oauth2_introspection_url))
                os.chmod(settings, 0o644)
                oauth2_passdb = _OAUTH2_PASSDB.format(root=root)
                oauth2_mechanisms = " xoauth2 oauthbearer"
                passwd_mechanisms = "\n  mechanisms = plain login"
            token = f"mailbot-test-{secrets.token_hex(6)}"
            conf = root / "dovecot.conf"
            conf.write_text(
                _CONFIG.format(
                    host=HOST,
                    port=port,
                    tls_port=tls_port or 0,
                    ssl=ssl_settings,
                    oauth2_mechanisms=oauth2_mechanisms,
                    oauth2_passdb=oauth2_passdb,
                    passwd_mechanisms=passwd_mechanisms,
                    root=root,
                    token=token,
                    login_user=login_user,
                    internal_user=internal_user,
                    mail_user=mail_user,
                    mail_group=mail_group,
                )
            )
            instance = _Instance(
                binary=binary,
                host=HOST,
                port=port,
                root=root,
                conf=conf,
                uid=uid,
                gid=gid,
                token=token.encode(),
            )
            for name, secret in {user: password, **(extra_users or {})}.items():
                instance.add_user(name, secret)
            instance.start(timeout=timeout)
        except _PortInUse as exc:
            last_error = exc
            _discard(instance, root)
            continue
        except BaseException:
            _discard(instance, root)
            raise
        return DovecotServer(
            host=HOST,
            port=port,
            user=user,
            password=password,
            root=root,
            _instance=instance,
            tls_port=tls_port,
        )
    assert last_error is not None
    raise last_error


def _copy_tls_files(folder: Path, cert: Path, key: Path) -> None:
    # Copies owned by us: Dovecot reads them as the user starting it (root, or
    # the current user when unprivileged), whoever owns the originals.
    folder.mkdir(mode=0o755)
    shutil.copyfile(cert, folder / "cert.pem")
    os.chmod(folder / "cert.pem", 0o644)
    shutil.copyfile(key, folder / "key.pem")
    os.chmod(folder / "key.pem", 0o600)


def _discard(instance: _Instance | None, root: Path) -> None:
    if instance is not None:
        with contextlib.suppress(Exception):
            instance.remove()
    shutil.rmtree(root, ignore_errors=True)


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:  # pragma: no cover
        return str(gid)
