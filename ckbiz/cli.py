"""The command line of DESIGN.md: flask --app app <command>."""
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import database, demo, tasks, worker
from .domain import accounts, api_keys, catalog, roles, statements
from .domain.clock import naive_utc
from .domain.statement_format import StatementError
from .domain.contacts import PhoneError, normalise_phone
from .extensions import db, huey, urgent_huey
from .models import Merchant, User


def init_app(app):
    """Register every command on the app."""
    for command in (init_db, create_merchant, merchants, disable_merchant, enable_merchant,
                    reset_password, add_service, demo_command, worker_command, jobs, deliveries_group,
                    statements_group, api_key_group):
        app.cli.add_command(command)


def _phone(raw):
    """Normalise a phone argument or stop with a one-line error."""
    try:
        return normalise_phone(raw)
    except PhoneError as exc:
        raise click.BadParameter(f"{raw!r}: {exc}") from exc


def _user(raw):
    """The user with this phone (and their merchant), or a one-line error."""
    user = accounts.user_by_phone(_phone(raw))
    if user is None:
        raise click.ClickException(f"no user with phone {raw}")
    return user


def _read_password():
    """A password from a prompt on a terminal, else one line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("no password given on stdin")
    return password


def _check_password(password):
    """Stop when the password breaks the rules."""
    problem = accounts.password_problem(password)
    if problem:
        raise click.ClickException(f"password: {problem}")


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or migrate the database (idempotent)."""
    applied = database.migrate(db)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@click.command("create-merchant")
@with_appcontext
@click.option("--phone", required=True, help="9XXXXXXXXX, +7…, 8… all accepted")
@click.option("--password", help="omit to be asked (or to read one line of stdin)")
@click.option("--name", default="")
@click.option("--email", default=None)
def create_merchant(phone, password, name, email):
    """Create a merchant and its owner, who logs in with phone and password."""
    phone = _phone(phone)
    password = password if password is not None else _read_password()
    _check_password(password)
    with db.connection_context():
        try:
            accounts.create_merchant(phone, password, name, email)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"created merchant {phone}")


@click.command("merchants")
@with_appcontext
def merchants():
    """List merchants: the first owner's phone, state, name, users, services, invoices."""
    with db.connection_context():
        for m in Merchant.select().order_by(Merchant.id):
            state = "active" if m.active else "disabled"
            owner = User.of(m).where(User.role == roles.OWNER).first()
            click.echo(f"{owner.phone if owner else '-'}\t{state}\t{m.name}\t{m.users.count()} users\t"
                       f"{m.services.count()} services\t{m.invoices.count()} invoices")


def _set_active(phone, active):
    """Enable or disable the merchant of the user with this phone."""
    with db.connection_context():
        user = _user(phone)
        accounts.set_active(user.merchant, active)
    click.echo(f"merchant of {user.phone} {'enabled' if active else 'disabled'}")


@click.command("disable-merchant")
@with_appcontext
@click.argument("phone")
def disable_merchant(phone):
    """Stop the merchant of this user's phone from logging in and end its users' sessions."""
    _set_active(phone, False)


@click.command("enable-merchant")
@with_appcontext
@click.argument("phone")
def enable_merchant(phone):
    """Let the users of a disabled merchant log in again."""
    _set_active(phone, True)


@click.command("reset-password")
@with_appcontext
@click.argument("phone")
@click.option("--password", help="omit to be asked (or to read one line of stdin)")
def reset_password(phone, password):
    """Set a new password for a user and end their sessions."""
    with db.connection_context():
        user = _user(phone)
        password = password if password is not None else _read_password()
        _check_password(password)
        rows = accounts.set_password(user, password)
    tasks.send(rows)
    click.echo(f"password of {user.phone} changed")


@click.command("add-service")
@with_appcontext
@click.option("--merchant", "phone", required=True, help="the phone of one of the merchant's users")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def add_service(phone, file):
    """Add a service (organisation, title, requisite fields) from a JSON or YAML file."""
    with db.connection_context():
        user = _user(phone)
        try:
            service = catalog.add_service(user.merchant, catalog.read_spec(file))
        except catalog.SpecError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"added service {service.id} «{service.display_name}» for the merchant of {user.phone}")


@click.command("demo")
@with_appcontext
@click.option("--phone", default="9000000000", show_default=True)
@click.option("--password", help="default: made up and printed on first run")
@click.option("--email", default=None)
@click.option("--merchants", "count", default=1, show_default=True, type=click.IntRange(1, 1000))
@click.option("--invoices", default=0, show_default=True, type=click.IntRange(0, 10_000_000))
def demo_command(phone, password, email, count, invoices):
    """Create the demo merchant with the manual's services, and optionally many invoices."""
    first = int(_phone(phone))
    if password is not None:
        _check_password(password)
    with db.connection_context():
        merchant, made_up = demo.ensure_merchant(str(first), password, email)
        if made_up:
            click.echo(f"demo merchant: phone {first}, password {made_up}")
        else:
            click.echo(f"demo merchant: phone {first} (password unchanged)")
        extra = [demo.ensure_merchant(str(first + i), password or None,
                                      name=f"Демо-магазин {i + 1}")[0] for i in range(1, count)]
        added = demo.ensure_invoices([merchant, *extra], invoices) if invoices else 0
    if invoices:
        click.echo(f"invoices: {added} added, {invoices} in all over {count} merchant(s)")
    config = current_app.config
    if not config["MAIL_SERVER"]:
        click.echo(f"e-mails are written to {os.path.join(current_app.instance_path, 'outbox')} (no MAIL_SERVER)")
    if config["SMS_BACKEND"] == "console":
        click.echo(f"SMS are written to {os.path.join(current_app.instance_path, 'sms.log')}")


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--urgent-workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="threads for payments and password/sign-up SMS, never behind ordinary mail")
@click.option("--no-periodic", is_flag=True, help="for every consumer but one")
@click.option("--flush-locks", is_flag=True, help="clear task locks left by a killed consumer "
              "(always done when running the periodic jobs)")
def worker_command(workers, urgent_workers, no_periodic, flush_locks):
    """Run the queue consumer (deliveries and periodic jobs); stops gracefully on SIGINT/SIGTERM."""
    current_app.logger.info("worker: queue %s", type(huey).__name__)
    # A consumer killed inside a periodic job (SIGKILL, OOM, power loss) leaves the job's
    # task lock in the queue storage, which would stop that job for good. The one consumer
    # that runs the periodic jobs owns their locks: it clears them when it starts (should a
    # second one run, the jobs are safe to run twice at once).
    worker.run(huey, urgent_huey, workers=workers, urgent_workers=urgent_workers, periodic=not no_periodic,
               flush_locks=flush_locks or not no_periodic)


@click.group("jobs", cls=AppGroup)
def jobs():
    """Periodic jobs, run once on demand."""


@jobs.command("run")
@click.argument("name", type=click.Choice(sorted(tasks.JOBS)))
@click.option("--now", "moment", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%z",
                                                       "%Y-%m-%dT%H:%M%z"]),
              help="run as if at this moment (ISO 8601; UTC unless it names its offset)")
def jobs_run(name, moment):
    """Run one periodic job once, now (or as if at --now)."""
    if moment is None:
        result = tasks.JOBS[name].call_local()
    elif name in tasks.TIMED_JOBS:
        result = tasks.JOBS[name].call_local(naive_utc(moment))
    else:
        raise click.UsageError(f"--now: only for {', '.join(tasks.TIMED_JOBS)}")
    click.echo(f"{name}: {result}")


@click.group("deliveries", cls=AppGroup)
def deliveries_group():
    """The e-mail and SMS outbox."""


@deliveries_group.command("retry")
def deliveries_retry():
    """Put failed deliveries back in the queue."""
    with db.connection_context():
        count = tasks.retry_failed()
    click.echo(f"{count} failed deliveries queued again")


@click.group("statements", cls=AppGroup)
def statements_group():
    """Bank statements (1C «Клиент-банк»)."""


@statements_group.command("import")
@click.option("--merchant", "phone", required=True, help="the phone of one of the merchant's users")
@click.argument("file", type=click.File("rb"))
def statements_import(phone, file):
    """Import a statement file, as the «Выписки» page does; events name «оператор»."""
    with db.connection_context():
        user = _user(phone)
        try:
            raw = file.read(int(current_app.config["STATEMENT_MAX_BYTES"]) + 1)
            result = statements.import_statement(user.merchant, raw, os.path.basename(file.name), "оператор")
        except StatementError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"оплачено: {result.paid}, предложено: {result.suggested}, не найдено: {result.unmatched}")


@click.group("api-key", cls=AppGroup)
def api_key_group():
    """Keys of the merchant API."""


@api_key_group.command("create")
@click.option("--merchant", "phone", required=True, help="the phone of one of the merchant's users")
@click.option("--name", default="Командная строка", show_default=True, help="how the list and events name the key")
def api_key_create(phone, name):
    """Make a key for the merchant and print it: it is shown this once and stored only as a digest."""
    with db.connection_context():
        user = _user(phone)
        try:
            _row, key = api_keys.create(user.merchant, name, "оператор")
        except api_keys.KeyNameError as exc:
            raise click.ClickException(f"--name: {exc}") from exc
    click.echo(key)
