"""What each delivery says: e-mail subject and parts, SMS text, by kind."""
from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import accounts, mailer, money, registration
from .links import public_url

INVOICE_KINDS = ("invoice", "reminder", "sent_to", "copy")
# Short notices about an invoice: (subject, text); %(n)s number, %(a)s amount, %(t)s card total, %(p)s payee.
NOTICES = {
    "paid_notice": (_l("Счет № %(n)s оплачен"),
                    _l("Плательщик оплатил картой счет № %(n)s на %(a)s руб. Можно отгружать товар или оказывать услугу.")),
    "payment_received": (_l("Платеж по счету № %(n)s получен"),
                         _l("Ваш платеж %(t)s руб. по счету № %(n)s получен, получатель — %(p)s. Спасибо! "
                            "Это письмо не кассовый чек: чек пришлет платежный сервис.")),
    "refund_notice": (_l("Нужен возврат по счету № %(n)s"),
                      _l("По счету № %(n)s пришел платеж картой, но счет уже нельзя оплатить (отменен или истек). "
                         "Платеж записан: верните деньги плательщику.")),
    "mismatch_notice": (_l("Платеж по счету № %(n)s не совпал с суммой"),
                        _l("По счету № %(n)s пришло подтверждение платежа на другую сумму. Счет не отмечен оплаченным: "
                           "проверьте платеж у платежного сервиса.")),
}


def email(delivery, invoice):
    """The mailer.Outgoing message for an e-mail delivery about the invoice."""
    context = invoice_context(invoice)
    if delivery.kind in NOTICES:
        subject, text = (str(part) % _values(invoice) for part in NOTICES[delivery.kind])
        merchant_link = public_url("invoices.show", number=invoice.number)
        context.update(subject=subject, text=text,
                       link=None if delivery.kind == "payment_received" else merchant_link)
        return mailer.build(subject, delivery.recipient, render_template("email/notice.txt", **context),
                            render_template("email/notice.html", **context), delivery.message_id)
    subject = _subject(delivery.kind, invoice)
    text = render_template("email/invoice.txt", kind=delivery.kind, **context)
    html = render_template("email/invoice.html", kind=delivery.kind, subject=subject, **context)
    return mailer.build(subject, delivery.recipient, text, html, delivery.message_id)


def _values(invoice):
    """The values notices mention."""
    return {"n": invoice.number, "a": _plain(invoice.amount_kop), "p": invoice.issued_with["payee"]["name"],
            "t": _plain(invoice.amount_kop + invoice.commission_kop)}


def _plain(kopecks):
    """Rubles with ordinary spaces, for subjects and SMS."""
    return money.format_rubles(kopecks).replace("\u202f", " ")


def sms_text(delivery, invoice=None):
    """A short Russian SMS: the invoice's number, amount and payer link, or a temporary password."""
    if delivery.kind == "password":
        password = accounts.issue_temporary_password(delivery.merchant_id)
        return _("Временный пароль ЦК Бизнес: %(p)s. Действует 15 минут. Никому его не сообщайте.", p=password)
    if delivery.kind == "register_code":
        code = registration.issue_code(delivery.recipient)
        return _("Код подтверждения ЦК Бизнес: %(c)s. Действует 10 минут.", c=code)
    if delivery.kind == "register_exists":
        return _("Этот номер уже зарегистрирован в ЦК Бизнес. Забыли пароль? Восстановите его на странице входа.")
    url = public_url("payer.show", token=invoice.token)
    amount = _plain(invoice.amount_kop)
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
    base = _("Счет № %(n)s от %(p)s на %(a)s руб.", **_values(invoice))
    prefix = {"reminder": _("Напоминание"), "copy": _("Копия")}.get(kind)
    return f"{prefix}: {base}" if prefix else base
