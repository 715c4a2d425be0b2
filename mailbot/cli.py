"""The command line: thin, parses arguments, loads config, calls the service."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import click

from mailbot import __version__
from mailbot.app import App, build_app
from mailbot.config import Config, find_config_path, load_config
from mailbot.errors import MailbotError
from mailbot.progress import Progress, progress_bar
from mailbot.tables import MEMBER_COLUMNS, member_lines


class Context:
    def __init__(self, config_path: str | None = None):
        self.config_path = config_path

    def progress(self, label: str) -> AbstractContextManager[Progress]:
        """A bar on the terminal for a long job; none with -q, under cron or in a pipe."""
        return progress_bar(label, quiet=logging.getLogger().level >= logging.WARNING)

    def config(self) -> Config:
        return load_config(find_config_path(self.config_path))

    @contextmanager
    def app(self, migrate: bool = False) -> Iterator[App]:
        app = build_app(self.config(), migrate=migrate)
        try:
            yield app
        finally:
            app.close()


pass_context = click.make_pass_decorator(Context)


class Group(click.Group):
    """Expected errors become one line and exit code 1, never a traceback. The global
    options work after the command name too (``mailbot members --config X``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MailbotError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params.extend(_global_options())
        super().add_command(cmd, name)


def _set_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).config_path = value


def _set_level(level: int) -> Callable[[click.Context, click.Parameter, bool], None]:
    def set_level(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            logging.getLogger().setLevel(level)

    return set_level


def _global_options() -> list[click.Option]:
    """The group's options again, for after the command name: they override the ones before."""
    return [
        click.Option(["--config", "config_path"], metavar="PATH", expose_value=False,
                     callback=_set_config, help="Config file (also before the command)."),
        click.Option(["-v", "--verbose"], is_flag=True, expose_value=False,
                     callback=_set_level(logging.DEBUG), help="Log debug detail."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False,
                     callback=_set_level(logging.WARNING), help="Log warnings and errors only."),
    ]  # fmt: skip


@click.group(cls=Group)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: $MAILBOT_CONFIG, else ./mailbot.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only.")
@click.version_option(__version__, prog_name="mailbot")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool, quiet: bool) -> None:
    """mailbot: random coffee / unmentoring pairings, all by email."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.ensure_object(Context).config_path = config_path


@main.command()
@pass_context
def init(ctx: Context) -> None:
    """Create or migrate the database."""
    with ctx.app(migrate=True) as app:
        click.echo(f"database ready: {app.config.bot.database}")


@main.command()
@pass_context
def check(ctx: Context) -> None:
    """Validate the config, log in to IMAP and SMTP, report what works."""
    from mailbot.checks import run_checks

    lines, ok = run_checks(ctx.config())
    for line in lines:
        click.echo(line)
    if not ok:
        raise MailbotError("some checks failed (see above)")


@main.command()
@pass_context
def poll(ctx: Context) -> None:
    """Process every message in the inbox not yet processed, then exit."""
    from mailbot.daemon import InstanceLock

    with ctx.app() as app, InstanceLock(app.config.bot.database):
        inbox = app.open_inbox()
        try:
            report = app.service.poll(inbox)
        finally:
            inbox.close()
        click.echo(
            f"processed {report.processed} message(s), {report.ignored} ignored, "
            f"{report.failed} set aside"
        )


@main.command()
@pass_context
def send(ctx: Context) -> None:
    """Deliver every queued outgoing message, then exit."""
    from mailbot.daemon import InstanceLock

    with ctx.app() as app, InstanceLock(app.config.bot.database):
        report = app.service.send(app.transport)
        click.echo(f"sent {report.sent}, {report.retrying} to retry later, {report.failed} failed")
        if report.retrying and not report.sent:
            raise MailbotError("the SMTP server could not take the mail; it stays queued")


@main.command()
@click.option("--once", is_flag=True, help="Do one cycle (poll, jobs, send) and exit.")
@pass_context
def run(ctx: Context, once: bool) -> None:
    """The daemon: poll, send and run scheduled jobs until SIGTERM or Ctrl-C."""
    from mailbot.daemon import Daemon, InstanceLock
    from mailbot.embedded import EmbeddedSmtp

    with ctx.app() as app, InstanceLock(app.config.bot.database):
        local = app.config.local
        server = None
        if local is not None and not once:
            server = EmbeddedSmtp(local.maildir, local.smtp_host, local.smtp_port).start()
            click.echo(
                f"embedded SMTP server on {server.host}:{server.port}, mailboxes in {local.maildir}"
            )
        try:
            Daemon(app).run(once=once, lock=False)  # held above, before the mail server starts
        finally:
            if server:
                server.stop()


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the groups it would make; change nothing.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--seed", type=int, help="Use this seed (a dry run prints its own) to get the same groups."
)
@click.option("--force", is_flag=True, help="Run even if a round ran recently.")
@pass_context
def pair(ctx: Context, dry_run: bool, fmt: str, seed: int | None, force: bool) -> None:
    """Start a pairing round now (intros are queued; `mailbot send` or `run` delivers them).

    Safe beside a running daemon: the groups commit in one transaction, the intros in chunks
    of 1,000 groups; a round stopped part-way gets its remaining intros first. A dry run
    shows the groups the next round will make (each round's seed comes from its number) and
    says when `pair` would refuse.
    """

    with ctx.app() as app:
        slot = f"manual {app.rounds.clock.now().isoformat()}"
        recent = app.rounds.too_soon()
        if dry_run:
            plan = app.rounds.plan(slot, seed, ahead=True)
        else:
            with ctx.progress("queueing intros") as progress:
                if app.rounds.finish_intros(progress):
                    click.echo("queued the intros a stopped round had left", err=True)
            if recent and not force:
                raise MailbotError(f"{recent}, less than half a cadence ago; "
                                   "use --force to run another round now")  # fmt: skip
            app.service.resume_due()  # pauses that ended today count for this round
            with ctx.progress("queueing intros") as progress:
                found = app.rounds.run(slot, seed, progress)
            if found is None:
                raise MailbotError("a round started this very second; try again")
            plan = found
    refusal = f"{recent}, less than half a cadence ago" if dry_run and recent and not force else ""
    if fmt == "json":
        groups = {
            "groups": [list(g) for g in plan.groups],
            "unmatched": list(plan.unmatched),
            "seed": plan.seed,
            "round": plan.number,
            "refused": refusal,
        }
        click.echo(json.dumps(groups, indent=2))
        return
    verb = "would make" if dry_run else "made"
    click.echo(f"round {plan.number} {verb} {len(plan.groups)} group(s), seed {plan.seed}:")
    for group in plan.groups:
        click.echo("  " + " + ".join(group))
    for email in plan.unmatched:
        click.echo(f"  {email} (no match this round)")
    for email in plan.resumed:
        click.echo(f"  (counts {email}: their pause ends today)")
    for email in plan.quieted:
        click.echo(f"  (leaves out {email}: paused first, after 3 follow-ups unanswered)")
    if refusal:
        click.echo(f"`mailbot pair` would refuse now: {refusal}. `mailbot pair --force` "
                   "would make these groups.")  # fmt: skip
    if not dry_run:
        click.echo("intros queued: `mailbot send` or the daemon delivers them")
    elif not refusal:
        click.echo("`mailbot pair` now (or the next scheduled round, if nobody joins, leaves "
                   "or pauses first) makes these groups.")  # fmt: skip


@main.command()
@pass_context
def followup(ctx: Context) -> None:
    """Send the latest round's follow-ups now ("how did it go?"), unless already sent."""
    with ctx.app() as app:
        with ctx.progress("queueing follow-ups") as progress:
            count = app.learnings.follow_up_latest(progress)
    if count:
        click.echo(f"queued {count} follow-up(s); `mailbot send` or `run` delivers them")
    else:
        click.echo("nothing to do: no round yet, or its follow-ups were sent already")


@main.command()
@click.option("--preview", is_flag=True, help="Render the next digest; change nothing.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --preview: also write the HTML part to this file.",
)
@click.option("--force", is_flag=True, help="Send even with nothing new to report.")
@pass_context
def digest(ctx: Context, preview: bool, html_file: Path | None, force: bool) -> None:
    """Make the digest now: to the admins for approval (if moderated), else to the readers."""
    with ctx.app() as app:
        digests = app.digests
        if preview:
            content = digests.build()
            rendered = digests.render(content)
            click.echo(f"Subject: {rendered.subject}\n")
            click.echo(rendered.text, nl=False)
            if html_file:
                html_file.write_text(rendered.html, encoding="utf-8")
                click.echo(f"(HTML written to {html_file})", err=True)
            if digests.waiting() is not None:
                click.echo("(a digest is waiting for the admins' approval: `mailbot digest` "
                           "would refuse until they answer)", err=True)  # fmt: skip
            elif not content.items and not content.groups:
                click.echo("(nothing new since the last digest: `mailbot digest` would refuse "
                           "without --force)", err=True)  # fmt: skip
            return
        if digests.waiting() is not None:
            raise MailbotError("a digest is already waiting for the admins' approval")
        content = digests.build()
        if not content.items and not content.groups and not force:
            raise MailbotError("nothing new since the last digest; use --force to send anyway")
        with ctx.progress("queueing the digest") as progress:
            digest_id = digests.start(progress)
        status = app.store.digest(digest_id).status
    if status == "preview":
        click.echo("digest sent to the admins for approval (reply approve / drop N)")
    else:
        click.echo("digest queued for every reader; `mailbot send` or `run` delivers it")


@main.command()
@click.option(
    "--release",
    "release",
    type=int,
    metavar="ID",
    help="Publish a learning flagged for review (after reading it).",
)
@click.option("--text", help="With --release: the text to publish instead (e.g. trimmed).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_context
def learnings(ctx: Context, release: int | None, text: str | None, fmt: str) -> None:
    """Learnings waiting for the next digest; flagged ones need an organiser's eye."""
    with ctx.app() as app:
        if release is not None:
            with app.store.atomic():
                if not app.store.release_learning(release, text):
                    raise MailbotError(f"no unpublished learning {release}")
            click.echo(f"learning {release} will appear in the next digest")
            return
        rows = app.store.unpublished_learnings()
    if fmt == "json":
        keys = ("id", "email", "round_number", "visibility", "needs_review", "reason", "text",
                "raw")  # fmt: skip
        listed = [{k: getattr(r, k) for k in keys} | {"needs_review": int(r.needs_review)}
                  for r in rows]  # fmt: skip
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    for r in rows:
        flag = f"  REVIEW: {r.reason}" if r.needs_review else ""
        shown = " ".join((r.text or r.raw or "").split())[:70]
        click.echo(f"{r.id:>4}  round {r.round_number}  {r.email}  "
                   f"{r.visibility}{flag}\n      {shown}")  # fmt: skip
    click.echo(f"({len(rows)} unpublished learning{'s' if len(rows) != 1 else ''})")


@main.command(name="import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--confirmed",
    is_flag=True,
    help="They agreed already: make them active without a confirmation email.",
)
@pass_context
def import_members(ctx: Context, csv_file: Path, confirmed: bool) -> None:
    """Add members in bulk from a CSV (email,name,org,phone,skype,google,about)."""
    from mailbot.core.roster import parse_roster

    with ctx.app() as app:
        text, note = read_spreadsheet_text(csv_file.read_bytes())
        if note:
            click.echo(f"{csv_file}: {note}", err=True)
        rows, problems = parse_roster(text, refused=app.service.own)
        if problems:
            for problem in problems:
                click.echo(f"{csv_file}: {problem}", err=True)
            raise MailbotError(f"nothing imported: {len(problems)} problem(s) in {csv_file}")
        with ctx.progress("importing") as progress:
            added, skipped = app.service.import_members(rows, confirmed, progress)
    state = "active" if confirmed else "pending (confirmation emails queued)"
    click.echo(
        f"imported {len(added)} member(s) as {state}; "
        f"{len(skipped)} skipped (already members, or people who left: they can join "
        "again by email)"
    )
    for email in skipped:
        click.echo(f"  skipped {email}")


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@pass_context
def members(ctx: Context, fmt: str) -> None:
    """Who is in which state."""
    with ctx.app() as app:
        rows = ({k: bool(r[k]) if k in ("pairing", "digest") else r.get(k)
                 for k in MEMBER_COLUMNS} for r in app.store.members())  # fmt: skip
        for piece in member_lines(rows, fmt):
            click.echo(piece, nl=False)


@main.command()
@click.argument("address")
@pass_context
def export(ctx: Context, address: str) -> None:
    """Everything held about one person, as JSON (a subject access request)."""
    with ctx.app() as app:
        data = app.store.export(address.strip().lower())
    if data is None:
        raise MailbotError(f"no member {address} (nothing is held about them)")
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@main.command()
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def forget(ctx: Context, address: str, yes: bool) -> None:
    """Erase a person, as their own "forget" email would (for a request by phone or letter).

    Their filed mail in the IMAP folders goes at the next poll."""
    address = address.strip().lower()
    with ctx.app() as app:
        if app.store.get_member(address) is None:
            raise MailbotError(f"no member {address}")
        if not yes:
            click.confirm(f"Erase {address} and everything held about them?", abort=True)
        now = app.service.clock.now()
        with app.store.atomic():
            app.service.forget_member(address, now, "a member was erased by an organiser")
    click.echo(f"erased {address}; their filed mail goes at the next poll")


@main.command()
@click.option(
    "--dir",
    "directory",
    default="mailbot-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its config, database and mailboxes.",
)
@click.option(
    "--port",
    default=8025,
    show_default=True,
    help="Loopback port of the embedded SMTP server (0: any free port).",
)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="After the scenario, keep serving until Ctrl-C.",
)
@click.option("--fresh", is_flag=True, help="Delete a previous demo's data in --dir first.")
def demo(directory: Path, port: int, serve: bool, fresh: bool) -> None:
    """Run mailbot on its embedded default, with a short scripted scenario.

    A folder holding a previous demo is kept unless --fresh; while a demo runs, its folder
    is locked and a second demo there refuses to start."""
    from mailbot.demo import run_demo

    run_demo(directory, port, serve, click.echo, fresh)


def read_spreadsheet_text(data: bytes) -> tuple[str, str]:
    """Spreadsheets save UTF-8 or, on Windows, Windows-1252: never garble names silently."""
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "not UTF-8: read as Windows-1252"


if __name__ == "__main__":
    main()
