"""«Выписки»: upload a 1C «Клиент-банк» statement, see what it paid, decide the rest."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from ..domain import lifecycle, statements
from ..domain.statement_format import StatementError
from ..models import Statement
from .access import actor, current_merchant, requires

bp = Blueprint("statements", __name__)
# Room for the multipart envelope and the CSRF field around the file itself.
FORM_OVERHEAD = 64 * 1024
PAGE = 50


class UploadForm(FlaskForm):
    file = FileField(_l("Файл выписки"), validators=[FileRequired(_l("Выберите файл выписки"))])


class MatchForm(FlaskForm):
    number = IntegerField(_l("Номер счета"), validators=[Optional(), NumberRange(min=1, max=10**12)])


@bp.url_value_preprocessor
def allow_statement_size(endpoint, values):
    """A statement up to STATEMENT_MAX_BYTES passes whatever MAX_CONTENT_LENGTH says. This runs
    before every before_request hook, and CSRF protection reads the form in one."""
    if endpoint == "statements.index" and request.method == "POST":
        request.max_content_length = int(current_app.config["STATEMENT_MAX_BYTES"]) + FORM_OVERHEAD


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
    past = Statement.of(current_merchant).order_by(Statement.created_at.desc(), Statement.id.desc()).limit(PAGE)
    return render_template("statements/index.html", form=form, statements=list(past)), 422 if form.errors else 200


def _after_import(result):
    """Say what the import did and show the statement (or the list, when nothing was new)."""
    if result.statement is None:
        flash(_("Эта выписка уже загружена: новых платежей в ней нет (%(n)d уже были).", n=result.known), "info")
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
    line = statements.get_line(current_merchant, get_statement(statement_id).id, line_id)
    if line is None:
        abort(404)
    form, action = MatchForm(), request.form.get("action")
    if not form.validate() or action not in ("confirm", "reject", "match"):
        flash(_("Укажите номер счета цифрами."), "error")
    else:
        try:
            if action == "confirm":
                statements.confirm(line, actor())
            elif action == "reject":
                statements.reject(line, actor())
            elif form.number.data is None:
                raise statements.MatchRefused(_("Укажите номер счета."))
            else:
                statements.match(current_merchant, line, form.number.data, actor())
        except (statements.MatchRefused, lifecycle.TransitionRefused) as exc:
            flash(str(exc), "error")
        else:
            flash(DONE[action], "success")
    return redirect(url_for("statements.show", statement_id=statement_id) + f"#line-{line.id}", 303)


DONE = {"confirm": _l("Платеж подтвержден: счет оплачен переводом."),
        "reject": _l("Предложение отклонено: платеж можно сопоставить вручную."),
        "match": _l("Платеж сопоставлен: счет оплачен переводом.")}
