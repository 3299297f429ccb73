"""«Вспомнить пароль» (§8): phone + image captcha → a one-time password by SMS, safely."""
from flask import Blueprint, Response, current_app, render_template, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from . import captchas, deliveries, limits
from .extensions import db
from .forms import PhoneField
from .models import Merchant

bp = Blueprint("recovery", __name__)
HOUR = 3600


class RecoverForm(FlaskForm):
    phone = PhoneField(_l("Телефон"), validators=[InputRequired(_l("Укажите номер телефона"))])
    captcha = StringField(_l("Введите код с картинки"), validators=[InputRequired(_l("Введите код с картинки"))])


@bp.get("/captcha.png")
def captcha_image():
    """A fresh captcha; only its key goes into the session, never the answer."""
    key, image = captchas.new()
    session["captcha"] = key
    return Response(image, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/recover", methods=["GET", "POST"])
def recover():
    """The same answer whether or not the phone is registered; SMS only past every check."""
    form = RecoverForm()
    sent = False
    if form.validate_on_submit():
        if not captchas.solved(session.pop("captcha", None), form.captcha.data):
            form.captcha.errors.append(_("Код с картинки введен неверно. Введите новый код."))
        elif not within_limits("recover", form.phone.phone):
            form.phone.errors.append(_("Слишком много попыток восстановления. Попробуйте позже."))
        else:
            _send_temporary_password(form.phone.phone)
            sent = True
            form.captcha.data = ""
    status = 422 if form.errors else 200
    return render_template("auth/recover.html", form=form, sent=sent), status


def within_limits(purpose, phone):
    """SMS-sending attempts per phone (normalised) and per address, in storage every process shares."""
    config = current_app.config
    by_phone = limits.hit(f"{purpose}-phone", phone, HOUR) <= config["RECOVERY_PER_PHONE_PER_HOUR"]
    by_address = limits.hit(f"{purpose}-ip", limits.client_address(), HOUR) <= config["RECOVERY_PER_ADDRESS_PER_HOUR"]
    return by_phone and by_address


def _send_temporary_password(phone):
    """Queue the SMS; the task makes the password when it sends, so no row ever holds it."""
    with db.atomic():
        merchant = Merchant.get_or_none(Merchant.phone == phone, Merchant.active == True)  # noqa: E712
        rows = [deliveries.add(merchant.id, None, "sms", "password", phone)] if merchant else []
    deliveries.enqueue(rows)
