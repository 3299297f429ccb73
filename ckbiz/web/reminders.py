"""«Напоминания» in «Настройки»: the owner's automatic reminder steps (at most three)."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField
from wtforms.validators import InputRequired

from ..domain import reminders
from ..forms import ChoiceField, Form
from .access import current_merchant, requires

bp = Blueprint("reminders", __name__, url_prefix="/settings/reminders")


class StepForm(Form):
    """«Добавить напоминание»: N hours, before the end or after the issue, and by what."""

    hours = IntegerField(_l("Часов"), validators=[InputRequired(_l("Укажите число часов"))])
    kind = ChoiceField(_l("Когда"), choices=[("before_expiry", _l("до окончания срока")),
                                             ("after_issue", _l("после выставления"))])
    channels = ChoiceField(_l("Как"), choices=list(reminders.CHANNELS.items()), default="email")


@bp.route("", methods=["GET", "POST"])
@requires("settings")
def index():
    """The steps, and the form that adds one."""
    form = StepForm()
    if form.validate_on_submit():
        try:
            reminders.add_step(current_merchant, form.kind.data, form.hours.data, form.channels.data)
        except reminders.StepError as exc:
            form.hours.errors = [*form.hours.errors, str(exc)]
        else:
            flash(_("Напоминание добавлено"), "success")
            return redirect(url_for("reminders.index"), 303)
    return render_template("reminders/index.html", form=form, steps=reminders.steps_of(current_merchant),
                           limit=reminders.MAX_STEPS, channel_labels=reminders.CHANNELS), 422 if form.errors else 200


@bp.post("/<int:step_id>/delete")
@requires("settings")
def remove(step_id):
    """«Удалить» a step; what it already sent stays in the invoices' events."""
    if not reminders.remove_step(current_merchant, step_id):
        abort(404)
    flash(_("Напоминание удалено"), "success")
    return redirect(url_for("reminders.index"), 303)
