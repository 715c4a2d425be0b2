"""Load the TOML configuration into frozen dataclasses, reporting every problem at once.

Where the file comes from: ``--config PATH``, else ``$MAILBOT_CONFIG``, else ``./mailbot.toml``.
Relative paths inside it are relative to the file itself, so a config moves with its database.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.errors import ConfigError
from mailbot.oauth import TokenSource

SECTIONS = frozenset({"bot", "imap", "smtp", "local", "limits", "daemon", "rounds", "digest"})


class Security(StrEnum):
    ssl = "ssl"
    starttls = "starttls"
    none = "none"  # loopback only


class AdminAuth(StrEnum):
    """What an admin's mail must show in the receiving server's Authentication-Results before
    its commands count: a From header alone can be forged. Each accepts the stronger ones."""

    dmarc = "dmarc"
    dkim = "dkim"
    spf = "spf"
    none = "none"


class After(StrEnum):
    """What happens to a processed message in the IMAP inbox."""

    move = "move"  # to processed_folder
    flag = "flag"  # stays, flagged $MailbotDone


class Auth(StrEnum):
    password = "password"
    xoauth2 = "xoauth2"  # a bearer token from token_source


class Cadence(StrEnum):
    monthly = "monthly"  # the first <weekday> of each month
    weekly = "weekly"  # every N weeks on <weekday>


class OnTimeout(StrEnum):
    """A digest preview no admin answered in time."""

    send = "send"
    hold = "hold"


def defaults(cls: type) -> SimpleNamespace:
    """A dataclass's own field defaults, so that each default is written once, on its field,
    and the config reader takes it from there."""
    found: dict[str, Any] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            found[f.name] = f.default
        elif f.default_factory is not MISSING:
            found[f.name] = f.default_factory()
    return SimpleNamespace(**found)


@dataclass(frozen=True)
class BotConfig:
    address: str
    name: str = "mailbot"
    database: Path = Path("mailbot.db")
    admins: tuple[str, ...] = ()
    timezone: str = "Europe/London"
    admin_auth: AdminAuth = AdminAuth.dmarc  # none by default in [local] mode
    authserv_id: str = ""  # "topmost": trust the topmost Authentication-Results header only
    verp: bool = False  # send from address+bounces-TOKEN@domain to tie bounces to a message
    contact: str = ""  # how to reach a person, for the help and "I didn't understand" replies

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def view(self) -> dict[str, str]:
        """What every template sees as ``bot``."""
        return {"name": self.name, "address": self.address, "contact": self.contact}


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int = 993  # 143 without ssl
    security: Security = Security.ssl
    username: str = ""
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    after: After = After.move
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    batch_size: int = 100
    timeout: float = 60.0
    ca_file: Path | None = None
    auth: Auth = Auth.password
    token_source: TokenSource | None = None


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587  # 465 with ssl
    security: Security = Security.starttls
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 60.0
    ca_file: Path | None = None
    retry_for_hours: float = 96.0
    auth: Auth = Auth.password
    token_source: TokenSource | None = None


@dataclass(frozen=True)
class LocalConfig:
    """The embedded default: local mailboxes instead of an outside mail account."""

    maildir: Path = Path("mail")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025


@dataclass(frozen=True)
class LimitsConfig:
    replies_per_day: int = 10
    help_per_day: int = 3
    confirmations_per_day: int = 3
    # joining confirmations to new addresses, all together: a flood of forged joins cannot
    # fill the hour's sending for everyone else
    joins_per_hour: int = 100
    max_message_bytes: int = 10_000_000
    sent_per_hour: int = 500  # recipients a rolling hour, all mail together: a loop's ceiling
    failed_attempts: int = 3  # tries before a message that breaks processing is set aside
    bounce_threshold: int = 3  # days with a permanent bounce before a member is paused
    bounce_window_days: int = 30  # older bounces no longer count


@dataclass(frozen=True)
class DaemonConfig:
    poll_interval: float = 60.0


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_PROMPTS = (
    "What is one thing your team changed this year that you would do again?",
    "What problem are you stuck on right now, and what have you tried?",
    "Which tool, method or habit saves you the most time?",
    "What did you learn the hard way that you wish someone had told you?",
    "Who outside your organisation do you learn the most from, and how?",
    "If you had one extra day a month, what would you try?",
    "What is something your organisation does well that others could copy?",
    "What question do users ask you most, and why do you think they ask it?",
    "What would you stop doing tomorrow if you could?",
)


class _WeekdayAndTime:
    """For sections naming a weekday and a 24-hour time."""

    weekday: str
    time: str

    @property
    def weekday_number(self) -> int:
        return WEEKDAYS.index(self.weekday)

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class RoundsConfig(_WeekdayAndTime):
    """When pairing rounds run; the times are in ``[bot] timezone``."""

    enabled: bool = True
    cadence: Cadence = Cadence.monthly
    every: int = 1  # weekly: a round every N weeks
    weekday: str = "monday"
    time: str = "09:00"
    prompts: tuple[str, ...] = DEFAULT_PROMPTS
    followup_after_days: int = 7


@dataclass(frozen=True)
class DigestConfig(_WeekdayAndTime):
    """The monthly digest: when, and whether an admin approves it first."""

    enabled: bool = True
    weekday: str = "monday"  # the first <weekday> of each month
    time: str = "09:00"
    moderation: bool = True
    moderation_hours: int = 48
    on_timeout: OnTimeout = OnTimeout.send
    templates: Path | None = None  # a folder whose templates override the packaged ones


@dataclass(frozen=True)
class Config:
    path: Path
    bot: BotConfig
    imap: ImapConfig | None
    smtp: SmtpConfig | None
    local: LocalConfig | None
    limits: LimitsConfig
    daemon: DaemonConfig
    rounds: RoundsConfig = field(default_factory=RoundsConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    def local_date(self, moment: datetime) -> date:
        """The day it is at `moment` where the organisers are (``[bot] timezone``)."""
        return moment.astimezone(self.tz).date()


def find_config_path(option: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    if option:
        return Path(option)
    if environ.get("MAILBOT_CONFIG"):
        return Path(environ["MAILBOT_CONFIG"])
    return Path("mailbot.toml")


def load_config(path: Path, environ: Mapping[str, str] = os.environ) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {path} (use --config PATH or $MAILBOT_CONFIG; "
            "see config.example.toml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return parse_config(data, path, environ)


def parse_config(data: dict[str, Any], path: Path, environ: Mapping[str, str]) -> Config:
    r = _Reader(data, path.resolve().parent, environ)
    for name in sorted(set(data) - SECTIONS):
        r.errors.append(f"[{name}]: unknown section")
    local = _read_local(r) if "local" in data else None
    bot = _read_bot(r, embedded=local is not None)
    imap = _read_imap(r) if "imap" in data or local is None else None
    smtp = _read_smtp(r) if "smtp" in data or local is None else None
    limit = defaults(LimitsConfig)
    limits = LimitsConfig(**{
        name: r.integer("limits", name, getattr(limit, name), low=low, high=high)
        for name, (low, high) in LIMIT_BOUNDS.items()
    })  # fmt: skip
    daemon = DaemonConfig(poll_interval=r.number("daemon", "poll_interval",
                                                 defaults(DaemonConfig).poll_interval, low=0.1))
    rounds = _read_rounds(r)
    digest = _read_digest(r)
    r.unknown_keys()
    if r.errors:
        raise ConfigError(f"{path}: " + "; ".join(r.errors))
    assert bot is not None
    return Config(path, bot, imap, smtp, local, limits, daemon, rounds, digest)


# Each limit's lowest and highest value (None: no highest).
LIMIT_BOUNDS: dict[str, tuple[int, int | None]] = {
    "replies_per_day": (1, None), "help_per_day": (0, None), "confirmations_per_day": (1, None),
    "joins_per_hour": (1, None), "max_message_bytes": (1000, None), "sent_per_hour": (1, None),
    "failed_attempts": (1, 20), "bounce_threshold": (1, None), "bounce_window_days": (1, None),
}  # fmt: skip


def _read_digest(r: _Reader) -> DigestConfig:
    s, d = "digest", defaults(DigestConfig)
    time = r.clock_time(s, "time", d.time)
    templates = r.optional_path(s, "templates")
    if templates is not None and not templates.is_dir():
        r.errors.append(f"digest.templates: {templates} is not a folder")
    return DigestConfig(
        enabled=r.boolean(s, "enabled", d.enabled),
        weekday=r.choice(s, "weekday", WEEKDAYS, d.weekday),
        time=time,
        moderation=r.boolean(s, "moderation", d.moderation),
        moderation_hours=r.integer(s, "moderation_hours", d.moderation_hours, low=1,
                                   high=24 * 14),  # fmt: skip
        on_timeout=OnTimeout(r.choice(s, "on_timeout", tuple(OnTimeout), d.on_timeout)),
        templates=templates,
    )


def _read_rounds(r: _Reader) -> RoundsConfig:
    s, d = "rounds", defaults(RoundsConfig)
    time = r.clock_time(s, "time", d.time)
    prompts = tuple(r.string_list(s, "prompts")) or DEFAULT_PROMPTS
    if len(prompts) < 3:
        r.errors.append("rounds.prompts: give at least 3 (each intro shows 3)")
        prompts = DEFAULT_PROMPTS
    cadence = Cadence(r.choice(s, "cadence", tuple(Cadence), d.cadence))
    every = r.integer(s, "every", d.every, low=1, high=12)
    if cadence == Cadence.monthly and every != 1:
        r.errors.append('rounds.every: only for cadence = "weekly" (monthly is every month)')
    return RoundsConfig(
        enabled=r.boolean(s, "enabled", d.enabled),
        cadence=cadence,
        every=every,
        weekday=r.choice(s, "weekday", WEEKDAYS, d.weekday),
        time=time,
        prompts=prompts,
        followup_after_days=r.integer(s, "followup_after_days", d.followup_after_days, low=1,
                                      high=60),  # fmt: skip
    )


def _read_bot(r: _Reader, embedded: bool) -> BotConfig | None:
    d = defaults(BotConfig)
    address = r.address("bot", "address")
    timezone = r.string("bot", "timezone", d.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.errors.append(f"bot.timezone: unknown time zone {timezone!r}")
    admins = r.string_list("bot", "admins")
    for admin in admins:
        if "@" not in admin:
            r.errors.append(f"bot.admins: {admin!r} is not an email address")
    # The embedded default only hears loopback: no receiving server to vouch for anyone.
    admin_auth = AdminAuth(r.choice("bot", "admin_auth", tuple(AdminAuth),
                                    AdminAuth.none if embedded else d.admin_auth))  # fmt: skip
    authserv_id = r.string("bot", "authserv_id", d.authserv_id).strip().lower()
    if admins and admin_auth != AdminAuth.none and not authserv_id:
        r.errors.append(
            "bot.authserv_id: required with admins: the id your receiving mail server writes "
            'first in Authentication-Results (e.g. "mx.google.com"), or "topmost" to trust '
            "the topmost such header (only if that server always adds one: Microsoft 365)"
        )
    return BotConfig(
        address=address,
        name=r.string("bot", "name", d.name),
        database=r.path("bot", "database", str(d.database)),
        admins=tuple(a.lower() for a in admins),
        timezone=timezone,
        admin_auth=admin_auth,
        authserv_id=authserv_id,
        verp=r.boolean("bot", "verp", d.verp),
        contact=" ".join(r.string("bot", "contact", d.contact).split())[:300],
    )


def _read_imap(r: _Reader) -> ImapConfig:
    s, d = "imap", defaults(ImapConfig)
    host = r.string(s, "host", required=True)
    security = Security(r.choice(s, "security", tuple(Security), d.security))
    r.plaintext_only_on_loopback(s, host, security)
    username = r.string(s, "username", required=True)
    timeout = r.number(s, "timeout", d.timeout, low=1)
    auth, token_source = _read_auth(r, s, username, timeout)
    return ImapConfig(
        host=host,
        port=r.integer(s, "port", d.port if security == Security.ssl else 143, low=1,
                       high=65535),  # fmt: skip
        security=security,
        username=username,
        password=r.password(s),
        folder=r.string(s, "folder", d.folder),
        after=After(r.choice(s, "after", tuple(After), d.after)),
        processed_folder=r.string(s, "processed_folder", d.processed_folder),
        failed_folder=r.string(s, "failed_folder", d.failed_folder),
        batch_size=r.integer(s, "batch_size", d.batch_size, low=1, high=5000),
        timeout=timeout,
        ca_file=r.optional_path(s, "ca_file"),
        auth=auth,
        token_source=token_source,
    )


def _read_smtp(r: _Reader) -> SmtpConfig:
    s, d = "smtp", defaults(SmtpConfig)
    host = r.string(s, "host", required=True)
    security = Security(r.choice(s, "security", tuple(Security), d.security))
    r.plaintext_only_on_loopback(s, host, security)
    username = r.string(s, "username", "")
    timeout = r.number(s, "timeout", d.timeout, low=1)
    auth, token_source = _read_auth(r, s, username, timeout)
    return SmtpConfig(
        host=host,
        port=r.integer(s, "port", 465 if security == Security.ssl else d.port, low=1,
                       high=65535),  # fmt: skip
        security=security,
        username=username,
        password=r.password(s),
        timeout=timeout,
        ca_file=r.optional_path(s, "ca_file"),
        retry_for_hours=r.number(s, "retry_for_hours", d.retry_for_hours, low=0),
        auth=auth,
        token_source=token_source,
    )


def _read_auth(r: _Reader, s: str, username: str,
               timeout: float) -> tuple[Auth, TokenSource | None]:  # fmt: skip
    """``auth`` and, for xoauth2, where its access token comes from."""
    auth = Auth(r.choice(s, "auth", tuple(Auth), Auth.password))
    command = r.string(s, "token_command", "")
    file = r.optional_path(s, "token_file")
    if auth == Auth.password:
        for key, value in (("token_command", command), ("token_file", file)):
            if value:
                r.errors.append(f'{s}.{key}: only for auth = "xoauth2"')
        return auth, None
    if not username and f"{s}.username: required" not in r.errors:
        r.errors.append(f'{s}.username: required for auth = "xoauth2"')
    if bool(command) == bool(file):
        r.errors.append(f'{s}.auth: "xoauth2" needs exactly one of token_command, token_file')
    if command:
        try:
            if not shlex.split(command):
                r.errors.append(f"{s}.token_command: empty")
        except ValueError as exc:
            r.errors.append(f"{s}.token_command: cannot split it into words: {exc}")
    table = r.data.get(s)
    keys = ("password", "password_env", "password_file")
    given = [k for k in keys if isinstance(table, dict) and table.get(k)]
    if given:
        r.errors.append(f'{s}.{given[0]}: not with auth = "xoauth2" (the token replaces it)')
    return auth, TokenSource(command=command, file=file, timeout=timeout, cwd=r.base)


def _read_local(r: _Reader) -> LocalConfig:
    d = defaults(LocalConfig)
    host = r.string("local", "smtp_host", d.smtp_host)
    if not is_loopback(host):
        r.errors.append("local.smtp_host: the embedded server listens on loopback only")
    return LocalConfig(
        maildir=r.path("local", "maildir", str(d.maildir)),
        smtp_host=host,
        smtp_port=r.integer("local", "smtp_port", d.smtp_port, low=0, high=65535),
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Reader:
    """Reads typed values from the TOML tree, collecting errors instead of stopping."""

    def __init__(self, data: dict[str, Any], base: Path, environ: Mapping[str, str]):
        self.data = data
        self.base = base
        self.environ = environ
        self.errors: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def _get(self, section: str, key: str) -> Any:
        self.seen.add((section, key))
        table = self.data.get(section, {})
        if not isinstance(table, dict):
            return None
        return table.get(key)

    def _typed(self, section: str, key: str, kinds: tuple[type, ...], what: str) -> Any:
        value = self._get(section, key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, kinds):
            self.errors.append(f"{section}.{key}: expected {what}, got {value!r}")
            return None
        return value

    def string(self, section: str, key: str, default: str = "", required: bool = False) -> str:
        raw = self._get(section, key)
        if raw is None or raw == "":
            if required:
                self.errors.append(f"{section}.{key}: required")
            return default
        if not isinstance(raw, str):
            self.errors.append(f"{section}.{key}: expected a string, got {raw!r}")
            return default
        return raw

    def address(self, section: str, key: str) -> str:
        value = self.string(section, key, required=True).strip().lower()
        if value and ("@" not in value or any(c.isspace() for c in value)):
            self.errors.append(f"{section}.{key}: {value!r} is not an email address")
        return value

    def integer(
        self, section: str, key: str, default: int, low: int, high: int | None = None
    ) -> int:
        value = self._typed(section, key, (int,), "a whole number")
        if value is None:
            return default
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.errors.append(f"{section}.{key}: must be {limit}, got {value}")
            return default
        return int(value)

    def clock_time(self, section: str, key: str, default: str) -> str:
        value = self.string(section, key, default)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            self.errors.append(f"{section}.{key}: write it as HH:MM (24-hour), got {value!r}")
            return default
        return value

    def boolean(self, section: str, key: str, default: bool) -> bool:
        value = self._get(section, key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors.append(f"{section}.{key}: expected true or false, got {value!r}")
            return default
        return value

    def number(self, section: str, key: str, default: float, low: float) -> float:
        value = self._typed(section, key, (int, float), "a number")
        if value is None:
            return default
        if value < low:
            self.errors.append(f"{section}.{key}: must be at least {low}, got {value}")
            return default
        return float(value)

    def choice(self, section: str, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(section, key, default)
        if value not in choices:
            self.errors.append(
                f"{section}.{key}: must be one of {', '.join(choices)}, got {value!r}"
            )
            return default
        return value

    def string_list(self, section: str, key: str) -> list[str]:
        value = self._typed(section, key, (list,), "a list of strings")
        if value is None:
            return []
        if not all(isinstance(v, str) for v in value):
            self.errors.append(f"{section}.{key}: expected a list of strings")
            return []
        return list(value)

    def path(self, section: str, key: str, default: str) -> Path:
        return self.base / Path(self.string(section, key, default)).expanduser()

    def optional_path(self, section: str, key: str) -> Path | None:
        value = self.string(section, key, "")
        return self.base / Path(value).expanduser() if value else None

    def password(self, section: str) -> str:
        inline = self.string(section, "password", "")
        env_name = self.string(section, "password_env", "")
        file_name = self.string(section, "password_file", "")
        given = [
            k
            for k, v in (
                ("password", inline),
                ("password_env", env_name),
                ("password_file", file_name),
            )
            if v
        ]
        if len(given) > 1:
            self.errors.append(f"{section}.password: set only one of {', '.join(given)}")
            return ""
        if env_name:
            if env_name not in self.environ:
                self.errors.append(f"{section}.password_env: ${env_name} is not set")
                return ""
            return self.environ[env_name]
        if file_name:
            try:
                return (self.base / file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.errors.append(f"{section}.password_file: cannot read {file_name}: {exc}")
                return ""
        return inline

    def plaintext_only_on_loopback(self, section: str, host: str, security: str) -> None:
        if security == Security.none and host and not is_loopback(host):
            self.errors.append(
                f"{section}.security: 'none' sends passwords in clear; allowed only for a "
                f"loopback host, not {host!r}"
            )

    def unknown_keys(self) -> None:
        for section, table in self.data.items():
            if not isinstance(table, dict):
                self.errors.append(f"[{section}]: expected a table")
                continue
            for key in table:
                if (section, key) not in self.seen and section in SECTIONS:
                    self.errors.append(f"{section}.{key}: unknown key")
