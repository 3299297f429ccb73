"""«Webhooks» (under «Настройки», owner only): the URL the merchant's systems hear events at, its
signing secret (shown once, rotated on request), a test event and the log of the last attempts."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired

from .. import tasks
from ..domain import webhooks
from ..domain.webhook_targets import UnsafeTarget
from ..forms import Form
from .access import current_merchant, requires

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")


class WebhookForm(Form):
    url = StringField(_l("Адрес (URL)"), validators=[InputRequired(_l("Укажите адрес"))])


def page(form, hook, secret=None, status=200):
    """The page of the merchant's `hook` (None before one is saved); `secret` is shown this once."""
    return render_template("webhooks/index.html", form=form, hook=hook, secret=secret,
                           log=webhooks.log(current_merchant), events=webhooks.EVENTS), status


@bp.route("", methods=["GET", "POST"])
@requires("webhooks")
def index():
    """The URL (checked where it leads before it is saved) and «Новый секрет»."""
    hook = webhooks.of(current_merchant)
    if request.method == "POST" and request.form.get("action") == "rotate":  # CSRF is checked for every POST
        if hook is None:
            abort(404)
        return page(WebhookForm(formdata=None, url=hook.url), hook, webhooks.rotate(hook))
    form = WebhookForm(url=hook.url if hook else "")
    if form.validate_on_submit():
        try:
            hook, secret = webhooks.save(current_merchant, form.url.data)
        except UnsafeTarget as exc:
            form.url.errors.append(str(exc))
        else:
            if secret:
                return page(form, hook, secret)
            flash(_("Адрес webhook сохранен"), "success")
            return redirect(url_for("webhooks.index"), 303)
    return page(form, hook, status=422 if form.errors else 200)


@bp.post("/test")
@requires("webhooks")
def test():
    """«Отправить тестовое событие»: a `ping` through the same outbox as every event."""
    rows = webhooks.ping(current_merchant)
    if not rows:
        abort(404)
    tasks.send(rows)
    flash(_("Тестовое событие отправляется: результат появится в журнале ниже"), "success")
    return redirect(url_for("webhooks.index"), 303)


@bp.post("/deliveries/<int:delivery_id>/retry")
@requires("webhooks")
def retry(delivery_id):
    """«Повторить»: the event again, with the same id and a fresh signature."""
    rows = webhooks.retry(current_merchant, delivery_id)
    if not rows:
        abort(404)
    tasks.send(rows)
    flash(_("Событие отправляется повторно"), "success")
    return redirect(url_for("webhooks.index"), 303)
