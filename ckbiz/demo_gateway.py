"""The demo gateway's pages: GET,POST /pay/demo/<payment> — a test-mode card form and its result."""
from flask import Blueprint, abort, redirect, render_template, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError
from wtforms.validators import InputRequired, Length, Regexp

from .gateways import demo
from .models import Invoice, Payment

bp = Blueprint("demo_gateway", __name__, url_prefix="/pay/demo")
SUBMITTED = "demo_payments_submitted"


class CardForm(FlaskForm):
    number = StringField(_l("Номер карты"), validators=[InputRequired(_l("Введите номер карты"))])
    expiry = StringField(_l("Срок действия (ММ/ГГ)"), validators=[InputRequired(_l("Введите срок действия"))])
    cvc = StringField(_l("CVC"), validators=[Regexp(r"^\d{3,4}$", message=_l("3 или 4 цифры с обратной стороны карты"))])
    holder = StringField(_l("Имя владельца"), validators=[InputRequired(_l("Введите имя, как на карте")), Length(max=60)])

    def validate_number(self, field):
        if not demo.luhn_ok(self.digits):
            raise ValidationError(_l("Номер карты введен с ошибкой"))

    def validate_expiry(self, field):
        if not demo.expiry_ok(field.data or ""):
            raise ValidationError(_l("Срок действия карты истек или указан неверно"))

    @property
    def digits(self):
        """The card number without spaces and dashes."""
        return "".join(ch for ch in (self.number.data or "") if ch not in " -")


def get_payment(provider_payment_id):
    """The demo payment and its invoice; 404 for an unknown id."""
    payment = Payment.get_or_none(Payment.gateway == demo.DemoGateway.name,
                                  Payment.provider_payment_id == provider_payment_id)
    if payment is None:
        abort(404)
    return payment, Invoice.get_by_id(payment.invoice_id)


@bp.route("/<payment>", methods=["GET", "POST"])
def card_form(payment):
    """The card form, then the result page that refreshes until the gateway has answered."""
    payment, invoice = get_payment(payment)
    submitted = payment.provider_payment_id in session.get(SUBMITTED, [])
    form = CardForm()
    if payment.status == "pending" and not submitted and form.validate_on_submit():
        from .tasks import notify_demo_payment

        approved = form.digits != demo.DECLINED_CARD
        # Queued first: should the queue be down (a 503), the payer may submit again
        # instead of waiting on "the bank" for an answer that was never asked for.
        notify_demo_payment(payment.provider_payment_id, "succeeded" if approved else "failed")
        session[SUBMITTED] = [*session.get(SUBMITTED, [])[-9:], payment.provider_payment_id]
        return redirect(url_for("demo_gateway.card_form", payment=payment.provider_payment_id), 303)
    status = 422 if form.errors else 200
    return render_template("payer/demo_card.html", form=form, payment=payment, invoice=invoice,
                           submitted=submitted or payment.status != "pending"), status
