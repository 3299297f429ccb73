"""The cabinet around the areas: the root redirect, tabs and words every page repeats,
the health check, and the 503 for a database or queue out of reach."""
import functools
import sqlite3

from flask import Blueprint, current_app, has_request_context, jsonify, redirect, render_template, url_for
from flask_babel import get_locale, gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import InterfaceError, InternalError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..domain import roles
from ..domain.lifecycle import PAID_BY_LABELS, STATUS_LABELS
from ..extensions import db, huey
from ..htmx import is_htmx
from .access import current_merchant, permission_of
from .problems import Problem, for_the_api

bp = Blueprint("core", __name__)

# The manual's tabs (§4.2, §5.1, §7.1), in its order: (endpoint, label, the blueprints it stands for).
TABS = (
    ("issue.new", _l("Выставить счет"), ("issue",)),
    ("history.index", _l("История счетов"), ("history", "invoice")),
    ("dashboard.index", _l("Сводка"), ("dashboard",)),
    ("statements.index", _l("Выписки"), ("statements",)),
    ("settings.index", _l("Настройки"), ("settings", "team")),
)
# Symbols the common system fonts draw alike (DejaVu, Segoe UI Symbol, Apple's): an emoji such as
# ⌛ is a box on a server's headless browser and a coloured picture on a phone.
STATUS_ICONS = {"issued": "✉", "paid": "✔", "transferred": "✔✔", "expired": "◷", "cancelled": "✖"}


@bp.app_context_processor
def cabinet_words():
    """The cabinet's tabs the user may open, and words every history row repeats."""
    return {"cabinet_tabs": tabs, "current_merchant": current_merchant, "may": permissions_of_the_user(),
            **_words(str(get_locale()))}


@functools.cache
def _words(locale):
    """The words in the request's locale, translated once per process (the catalogs do not
    change while it runs): every page, the payer's too, took sixteen catalog lookups for them."""
    return {
        "status_icons": STATUS_ICONS,
        "status_labels": {status: str(label) for status, label in STATUS_LABELS.items()},
        "role_labels": {role: str(label) for role, label in roles.ROLES.items()},
        "texts": {"remind": _("Напомнить"), "mark_paid": _("Оплачен другим способом"), "cancel": _("Отменить"),
                  "confirm_paid": _("Отметить счет № %s оплаченным другим способом?"),
                  "confirm_cancel": _("Отменить счет № %s?"), "invoice": _("Инвойс")},
        "paid_by_labels": {how: str(label) for how, label in PAID_BY_LABELS.items()},
    }


def permissions_of_the_user():
    """What the logged-in user's role may do, worked out once per page (history rows ask fifty
    times); nothing for a stranger, and nothing outside a request (an e-mail the worker renders)."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return {permission: roles.can(current_user.role, permission) for permission in roles.PERMISSIONS}


def tabs():
    """The tabs of the logged-in user's role; «Настройки» of someone who may not change them
    opens «Сеансы», which everyone may."""
    shown = []
    for endpoint, label, blueprints in TABS:
        if not roles.can(current_user.role, permission_of(endpoint)):
            endpoint = "team.sessions_list" if "team" in blueprints else None
        if endpoint:
            shown.append((url_for(endpoint), label, blueprints))
    return shown


@bp.get("/")
def index():
    """The issue form for who may issue, the history for a Наблюдатель, the login page for strangers."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("issue.new" if roles.can(current_user.role, "issue") else "history.index"))


@bp.get("/healthz")
def healthz():
    """Report whether the database and the queue answer; 503 when either does not."""
    checks = {"database": _check_database(), "queue": _check_queue()}
    ok = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ok else "error", **checks}
    return jsonify(body), 200 if ok else 503


def _check_database():
    """Run a trivial query."""
    try:
        db.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # any driver error means the database is down
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_queue():
    """Ask the queue storage how many tasks wait."""
    try:
        huey.pending_count()
    except Exception as exc:  # redis or sqlite errors alike mean the queue is down
        return f"error: {exc.__class__.__name__}"
    return "ok"


# SQLSTATE of PostgreSQL's "cannot execute INSERT in a read-only transaction" (a hot
# standby, or default_transaction_read_only during maintenance); psycopg2 raises it as an
# InternalError, unlike SQLite's read-only OperationalError.
READ_ONLY_SQL_TRANSACTION = "25006"


@bp.app_errorhandler(InternalError)
def database_internal_error(error):
    """A read-only PostgreSQL is unavailable for writing, like a locked SQLite; the rest stays a 500."""
    cause = getattr(error, "orig", None) or error.__context__  # the driver's own exception
    if getattr(cause, "pgcode", None) == READ_ONLY_SQL_TRANSACTION:
        return database_unavailable(error)
    raise error


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(InterfaceError)
@bp.app_errorhandler(RedisConnectionError)  # the queue (RedisHuey) down or restarting
@bp.app_errorhandler(RedisTimeoutError)
@bp.app_errorhandler(sqlite3.OperationalError)  # the SqliteHuey queue file locked or unreadable
def database_unavailable(error):
    """The database or the queue is down, locked past its timeout or read-only: a clear
    503, never a 500."""
    current_app.logger.warning("service unavailable: %s: %s", error.__class__.__name__, error)
    headers = {"Retry-After": "5"}
    if for_the_api():
        return Problem(503, _("Сервис временно недоступен. Повторите через несколько секунд."), headers=headers).response()
    if is_htmx():
        return _("Сервис временно недоступен. Повторите через несколько секунд."), 503, {
            **headers, "Content-Type": "text/plain; charset=utf-8"}
    return render_template("core/unavailable.html"), 503, headers


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A body past MAX_CONTENT_LENGTH, refused unread: a Russian page (text for htmx), never a 500."""
    if for_the_api():
        return Problem(413, _("Слишком большой запрос.")).response()
    if is_htmx():
        return _("Слишком много данных в одной форме."), 413, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("core/too_large.html"), 413
