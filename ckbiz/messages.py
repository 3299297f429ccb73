"""What each delivery says: e-mail subject and parts, SMS text, by kind."""
from flask import current_app, render_template
from flask_babel import gettext as _

from . import mailer, money
from .links import public_url
from .models import Invoice

INVOICE_KINDS = ("invoice", "reminder", "sent_to", "copy")


def email(delivery):
    """The flask_mail Message for an e-mail delivery."""
    invoice = Invoice.get_by_id(delivery.invoice_id)
    context = invoice_context(invoice)
    subject = _subject(delivery.kind, invoice)
    text = render_template("email/invoice.txt", kind=delivery.kind, **context)
    html = render_template("email/invoice.html", kind=delivery.kind, subject=subject, **context)
    return mailer.build(subject, delivery.recipient, text, html, delivery.message_id)


def sms_text(delivery):
    """A short Russian SMS with the number, amount and payer link."""
    invoice = Invoice.get_by_id(delivery.invoice_id)
    url = public_url("payer.show", token=invoice.token)
    amount = money.format_rubles(invoice.amount_kop).replace("\u202f", " ")
    if delivery.kind == "reminder":
        return _("Напоминаем: счет №%(n)s на %(a)s руб. ждет оплаты: %(u)s", n=invoice.number, a=amount, u=url)
    return _("Вам выставлен счет №%(n)s на %(a)s руб. Оплатить: %(u)s", n=invoice.number, a=amount, u=url)


def invoice_context(invoice):
    """What the invoice template needs: the invoice, its payer link, zone and operator."""
    return {
        "invoice": invoice,
        "pay_url": public_url("payer.show", token=invoice.token) if invoice.token else None,
        "tz": invoice.merchant.timezone if invoice.merchant_id else None,
        "operator": {key: current_app.config[key]
                     for key in ("OPERATOR_NAME", "SUPPORT_EMAIL", "SUPPORT_PHONE")},
    }


def _subject(kind, invoice):
    """The subject line: number, payee and amount, prefixed by what kind of mail it is."""
    payee = invoice.issued_with["payee"]["name"]
    amount = money.format_rubles(invoice.amount_kop).replace("\u202f", " ")
    base = _("Счет № %(n)s от %(p)s на %(a)s руб.", n=invoice.number, p=payee, a=amount)
    prefix = {"reminder": _("Напоминание"), "copy": _("Копия")}.get(kind)
    return f"{prefix}: {base}" if prefix else base
