"""The invoice («Инвойс», §5.2, §6): its page or dialog, and the actions of §6.1 and §6.3 —
remind, paid other way, cancel, send to another address, repeat — and «Вернуть платеж».

Each action works as a plain form (a redirect with a message) and from htmx, where it
answers with the changed row or dialog, and a toast.
"""
from flask import Blueprint, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField
from wtforms.validators import InputRequired, Length

from .. import htmx, tasks
from ..delivery.messages import invoice_context
from ..domain import lifecycle, refunds, reminders
from ..forms import Form, email_address
from ..models import Delivery, InvoiceEvent
from .access import actor, current_merchant, get_invoice, requires
from .auth import safe_next
from .payer import pdf_file

bp = Blueprint("invoice", __name__, url_prefix="/invoices/<int:number>")
# /invoices/<number>.pdf is a sibling of bp's prefix, not under it: a blueprint of its own.
document_bp = Blueprint("invoice_document", __name__)

DONE = {
    "remind": _l("Напоминание по счету № %(n)s отправлено"),
    "mark_paid": _l("Счет № %(n)s отмечен как оплаченный другим способом"),
    "cancel": _l("Счет № %(n)s отменен"),
    "send": _l("Счет № %(n)s отправлен на %(e)s"),
    "auto_on": _l("Автоматические напоминания по счету № %(n)s включены"),
    "auto_off": _l("Автоматические напоминания по счету № %(n)s выключены"),
    "refund": _l("Платеж по счету № %(n)s возвращен плательщику"),
}
# Where an htmx action came from decides what comes back: the whole details, or one row.
DETAILS = {"invoice-dialog": "invoice/_dialog.html", "invoice-page": "invoice/_page.html"}


class SendForm(Form):
    """«Отправить счет на почту» (§6.3.1)."""

    email = EmailField(_l("Отправить счет на почту"), validators=[
        InputRequired(_l("Укажите адрес эл. почты")), Length(max=254), email_address])




def details(invoice, send_form=None):
    """Template context for one invoice: the document, its events, deliveries and forms."""
    return {
        **invoice_context(invoice),
        "tz": current_merchant.timezone,
        "events": list(invoice.events.order_by(InvoiceEvent.at, InvoiceEvent.id)),
        "deliveries": messages_of(invoice),
        "refundable": refunds.refundable(invoice),
        "send_form": send_form or SendForm(formdata=None),
    }


@bp.get("")
@requires("read")
def show(number):
    """The invoice («Инвойс»): a dialog over the history, or a page of its own."""
    return htmx.page_or_fragment("invoice/show.html", "invoice/_dialog.html", "dialog-slot",
                                 **details(get_invoice(number)))


@document_bp.get("/invoices/<int:number>.pdf")
@requires("read")
def pdf(number):
    """The «Счет на оплату» PDF of the merchant's invoice, whatever its status."""
    return pdf_file(get_invoice(number))


@bp.get("/deliveries")
@requires("read")
def deliveries_table(number):
    """The deliveries table alone: it polls itself while anything is still on its way."""
    invoice = get_invoice(number)
    return render_template("invoice/_deliveries.html", invoice=invoice, tz=current_merchant.timezone,
                           deliveries=messages_of(invoice))


def messages_of(invoice):
    """The invoice's e-mails and SMS; its webhook events are in the owner's webhook log (their URL
    may carry the merchant's own token, not for every role to read)."""
    return list(invoice.deliveries.where(Delivery.channel != "webhook").order_by(Delivery.id))


def respond(invoice, message, status=200, level="info"):
    """The answer to an action: the row or details for htmx, a redirect otherwise."""
    target = htmx.target()
    if target:
        fresh = get_invoice(invoice.number)
        if target in DETAILS:
            page = render_template(DETAILS[target], oob_row=target == "invoice-dialog", **details(fresh))
            return page, status, htmx.toast(message, level)
        # The history's one form posted it: the answer is the invoice's row, swapped in its place.
        page = render_template("history/_rows.html", invoices=[fresh], tz=current_merchant.timezone)
        return page, status, {**htmx.toast(message, level), **htmx.retarget(f"#invoice-{invoice.number}")}
    flash(message, "error" if level == "error" else "success")
    return htmx.redirect(safe_next(request.form.get("next")) or url_for("invoice.show", number=invoice.number))


def act(name, invoice, action, **values):
    """Run a transition and queue what it wrote; a refusal is a message and changes nothing."""
    try:
        tasks.send(action(invoice, actor()) or [])
    except lifecycle.TransitionRefused as exc:
        return respond(invoice, str(exc), 409, "error")
    return respond(invoice, str(DONE[name]) % {"n": invoice.number, **values})


@bp.post("/remind")
@requires("act")
def remind(number):
    """«Напомнить»."""
    return act("remind", get_invoice(number), lifecycle.remind)


@bp.post("/mark-paid")
@requires("act")
def mark_paid(number):
    """«Оплачен другим способом»."""
    return act("mark_paid", get_invoice(number), lifecycle.mark_paid_other_way)


@bp.post("/cancel")
@requires("act")
def cancel(number):
    """«Отменить»: asks for confirmation first unless the request confirms."""
    invoice = get_invoice(number)
    if request.form.get("confirm") != "1":
        back = safe_next(request.form.get("next"))
        return render_template("core/confirm.html", question=_("Отменить счет № %(n)s?", n=invoice.number),
                               consequence=_("Плательщик больше не сможет оплатить этот счет. Отмену нельзя вернуть."),
                               action=url_for("invoice.cancel", number=invoice.number), next=back,
                               yes=_("Отменить счет"), no=_("Не отменять"),
                               back=back or url_for("invoice.show", number=invoice.number))
    return act("cancel", invoice, lifecycle.cancel)


@bp.post("/send")
@requires("act")
def send(number):
    """«Отправить» (§6.3.1) to another e-mail address."""
    invoice = get_invoice(number)
    form = SendForm()
    if not form.validate():
        template = DETAILS.get(htmx.target(), "invoice/show.html")
        return render_template(template, **details(invoice, form)), 422
    return act("send", invoice, lambda invoice, who: lifecycle.send_to(invoice, form.email.data, who),
               e=form.email.data)


@bp.post("/payments/<payment>/refund")
@requires("refund")
def refund(number, payment):
    """«Вернуть платеж»: the whole payment back through its provider, once; confirmed first."""
    invoice = get_invoice(number)
    if request.form.get("confirm") != "1":
        back = safe_next(request.form.get("next")) or url_for("invoice.show", number=invoice.number)
        return render_template("core/confirm.html", question=_("Вернуть платеж по счету № %(n)s?", n=invoice.number),
                               consequence=_("Деньги вернутся плательщику на карту. Возврат нельзя отменить."),
                               action=url_for("invoice.refund", number=invoice.number, payment=payment), next=back,
                               yes=_("Вернуть платеж"), no=_("Не возвращать"), back=back)
    try:
        refunds.refund(invoice, payment, actor())
    except refunds.RefundRefused as exc:
        return respond(invoice, str(exc), 409, "error")
    return respond(invoice, str(DONE["refund"]) % {"n": invoice.number})


@bp.post("/auto-remind")
@requires("act")
def auto_remind(number):
    """«Не напоминать» / «Напоминать автоматически» on this invoice."""
    on = request.form.get("on") == "1"
    invoice = get_invoice(number)
    reminders.set_auto(invoice, on, actor())
    return respond(invoice, str(DONE["auto_on" if on else "auto_off"]) % {"n": invoice.number})


@bp.post("/repeat")
@requires("act")
def repeat(number):
    """«Повторить инвойс» (§6.3.2): issue the same again and show the new invoice."""
    new, rows = lifecycle.repeat(get_invoice(number), actor())
    tasks.send(rows)
    message = _("Выставлен счет № %(new)s, повтор счета № %(old)s", new=new.number, old=number)
    if htmx.wants_fragment("invoice-dialog"):
        return render_template(DETAILS["invoice-dialog"], new_row=True, **details(new)), 200, htmx.toast(message)
    flash(message, "success")
    return htmx.redirect(url_for("invoice.show", number=new.number))
