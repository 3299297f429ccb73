"""Actions on an invoice (§6.1, §6.3): remind, paid other way, cancel, send, repeat.

Each works as a plain form (redirect with a message) and from htmx, where it
answers with the changed row or dialog, and a toast.
"""
import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import transitions
from .auth import safe_next
from .invoices import get_invoice
from .views import SendForm, invoice_details

bp = Blueprint("actions", __name__, url_prefix="/invoices/<int:number>")

DONE = {
    "remind": _l("Напоминание по счету № %(n)s отправлено"),
    "mark_paid": _l("Счет № %(n)s отмечен как оплаченный другим способом"),
    "cancel": _l("Счет № %(n)s отменен"),
}


@bp.before_request
@login_required
def require_login():
    """Actions belong to a logged-in merchant."""


# Where an htmx action came from decides what comes back: the whole details, or one row.
DETAILS = {"invoice-dialog": "invoices/_dialog.html", "invoice-page": "invoices/_page.html"}


def toast(message, level="info"):
    """The HX-Trigger header that shows a message (ASCII JSON: headers are latin-1)."""
    return {"HX-Trigger": json.dumps({"showMessage": {"level": level, "message": message}})}


def respond(invoice, message, status=200, level="info"):
    """The answer to an action: the row or details for htmx, a redirect otherwise."""
    target = request.headers.get("HX-Target", "")
    if request.headers.get("HX-Request") == "true" and target:
        fresh = get_invoice(invoice.number)
        if target in DETAILS:
            return render_template(DETAILS[target], oob_row=target == "invoice-dialog",
                                   **invoice_details(fresh)), status, toast(
                message, level)
        return render_template("history/_rows.html", invoices=[fresh], tz=current_user.timezone), status, toast(
            message, level)
    flash(message, "error" if level == "error" else "success")
    return redirect(safe_next(request.form.get("next")) or url_for("invoices.show", number=invoice.number), 303)


def act(name, invoice, action):
    """Run a transition; a refusal is a message and changes nothing."""
    try:
        action(invoice)
    except transitions.TransitionRefused as exc:
        return respond(invoice, str(exc), 409, "error")
    return respond(invoice, str(DONE[name]) % {"n": invoice.number})


@bp.post("/remind")
def remind(number):
    """«Напомнить»."""
    return act("remind", get_invoice(number), transitions.remind)


@bp.post("/mark-paid")
def mark_paid(number):
    """«Оплачен другим способом»."""
    return act("mark_paid", get_invoice(number), transitions.mark_paid_other_way)


@bp.post("/cancel")
def cancel(number):
    """«Отменить»: asks for confirmation first unless the request confirms."""
    invoice = get_invoice(number)
    if request.form.get("confirm") != "1":
        return render_template("invoices/confirm_cancel.html", invoice=invoice,
                               next=safe_next(request.form.get("next")))
    return act("cancel", invoice, transitions.cancel)


@bp.post("/send")
def send(number):
    """«Отправить» (§6.3.1) to another e-mail address."""
    invoice = get_invoice(number)
    form = SendForm()
    if not form.validate():
        template = DETAILS.get(request.headers.get("HX-Target"), "invoices/show.html")
        return render_template(template, **{**invoice_details(invoice), "send_form": form}), 422
    try:
        transitions.send_to(invoice, form.email.data)
    except transitions.TransitionRefused as exc:
        return respond(invoice, str(exc), 409, "error")
    return respond(invoice, _("Счет № %(n)s отправлен на %(e)s", n=invoice.number, e=form.email.data))


@bp.post("/repeat")
def repeat(number):
    """«Повторить инвойс» (§6.3.2): issue the same again and show the new invoice."""
    new = transitions.repeat(get_invoice(number), current_user)
    message = _("Выставлен счет № %(new)s, повтор счета № %(old)s", new=new.number, old=number)
    if request.headers.get("HX-Target") == "invoice-dialog":
        return render_template(DETAILS["invoice-dialog"], new_row=True, **invoice_details(new)), 200, toast(message)
    flash(message, "success")
    target = url_for("invoices.show", number=new.number)
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)
