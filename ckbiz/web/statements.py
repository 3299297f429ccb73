"""«Выписки»: upload a 1C «Клиент-банк» statement, see what it paid, decide the rest."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from .. import htmx, tasks
from ..domain import lifecycle, roles, statements
from ..domain.statement_format import StatementError
from ..forms import Form
from ..models import Statement
from .access import actor, check_permission, current_merchant, requires

bp = Blueprint("statements", __name__)
# Room for the multipart envelope and the CSRF field around the file itself.
FORM_OVERHEAD = 64 * 1024
PAGE = 50


class UploadForm(Form):
    file = FileField(_l("Файл выписки"), validators=[FileRequired(_l("Выберите файл выписки"))])


class MatchForm(Form):
    number = IntegerField(_l("Номер счета"), validators=[Optional(), NumberRange(min=1, max=10**12)])


@bp.url_value_preprocessor
def allow_statement_size(endpoint, values):
    """A statement up to STATEMENT_MAX_BYTES passes whatever MAX_CONTENT_LENGTH says, for whoever
    may upload one. This runs before every before_request hook: CSRF protection reads the form
    in one, before the permission check."""
    if endpoint == "statements.index" and request.method == "POST" and may_upload():
        request.max_content_length = int(current_app.config["STATEMENT_MAX_BYTES"]) + FORM_OVERHEAD


def may_upload():
    """True for a logged-in user whose role may use statements."""
    return current_user.is_authenticated and roles.can(current_user.role, "statements")


def get_statement(statement_id):
    """The current merchant's statement; 404 for anyone else's."""
    statement = Statement.of(current_merchant).where(Statement.id == statement_id).first()
    if statement is None:
        abort(404)
    return statement


@bp.route("/statements", methods=["GET", "POST"])
@requires("statements")
def index():
    """«Загрузить выписку» and the statements loaded before, newest first."""
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read(int(current_app.config["STATEMENT_MAX_BYTES"]) + 1)
        try:
            result = statements.import_statement(current_merchant, raw, upload.filename or "", actor(),
                                                 current_user.id)
        except StatementError as exc:
            form.file.errors.append(str(exc))
        else:
            return _after_import(result)
    return _index_page(form, 422 if form.errors else 200)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A file past STATEMENT_MAX_BYTES and the form's envelope: the form again, with the limit.
    Raised while CSRF protection reads the form, before the permission check: so it checks first."""
    refused = check_permission()
    if refused is not None:
        return refused
    form = UploadForm(formdata=None)
    form.file.errors = [statements.too_large(int(current_app.config["STATEMENT_MAX_BYTES"]))]
    return _index_page(form, 413)


def _index_page(form, status):
    """The upload form and the merchant's statements, newest first."""
    past = Statement.of(current_merchant).order_by(Statement.created_at.desc(), Statement.id.desc()).limit(PAGE)
    return render_template("statements/index.html", form=form, statements=list(past)), status


def _after_import(result):
    """Say what the import did and show the statement (or the list, when nothing was new)."""
    if result.statement is None:
        flash(_("Эта выписка уже загружена: новых платежей в ней нет (%(n)d уже были).", n=result.known)
              if result.known else _("В выписке нет платежей."), "info")
        return redirect(url_for("statements.index"), 303)
    flash(_("Оплачено: %(paid)d, предложено: %(suggested)d, не найдено: %(unmatched)d.", paid=result.paid,
            suggested=result.suggested, unmatched=result.unmatched), "success")
    return redirect(url_for("statements.show", statement_id=result.statement.id), 303)


@bp.get("/statements/<int:statement_id>")
@requires("statements")
def show(statement_id):
    """The statement: its period and account, then paid, suggested and unmatched payments."""
    statement = get_statement(statement_id)
    return render_template("statements/show.html", statement=statement, lines=statements.lines_by_outcome(statement))


@bp.post("/statements/<int:statement_id>/lines/<int:line_id>/match")
@requires("statements")
def match(statement_id, line_id):
    """«Подтвердить», «Отклонить» a suggestion, or «Сопоставить» an unmatched payment with a number."""
    statement = get_statement(statement_id)
    line = statements.get_line(current_merchant, statement.id, line_id)
    if line is None:
        abort(404)
    form, action = MatchForm(), request.form.get("action")
    try:
        if not form.validate() or action not in DONE:
            raise statements.MatchRefused(_("Укажите номер счета цифрами."))
        if action == "confirm":
            tasks.send(statements.confirm(line, actor()))
        elif action == "reject":
            statements.reject(line, actor())
        elif form.number.data is None:
            raise statements.MatchRefused(_("Укажите номер счета."))
        else:
            tasks.send(statements.match(current_merchant, line, form.number.data, actor()))
    except (statements.MatchRefused, lifecycle.TransitionRefused) as exc:
        return _decided(statement, line, str(exc), "error")
    return _decided(statement, line, str(DONE[action]), "success")


def _decided(statement, line, message, level):
    """The three lists again for htmx (with the message as a toast), else back to the line."""
    if htmx.wants_fragment("statement-lines"):
        page = render_template("statements/_lines.html", statement=Statement.get_by_id(statement.id),
                               lines=statements.lines_by_outcome(statement))
        return page, 409 if level == "error" else 200, htmx.toast(message, level)
    flash(message, level)
    return redirect(url_for("statements.show", statement_id=statement.id) + f"#line-{line.id}", 303)


DONE = {"confirm": _l("Платеж подтвержден: счет оплачен переводом."),
        "reject": _l("Предложение отклонено: платеж можно сопоставить вручную."),
        "match": _l("Платеж сопоставлен: счет оплачен переводом.")}
