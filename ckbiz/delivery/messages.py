"""What each delivery says: e-mail subject and parts, SMS text, by kind.

Rendering never makes a secret: a temporary password or a code is made by the
runner as it sends, and passed in here.
"""
from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import documents, formatting
from ..links import public_url
from ..models import Merchant, User
from . import mail

# Short notices about an invoice: (subject, text); %(n)s number, %(a)s amount, %(t)s card total, %(p)s payee.
NOTICES = {
    "paid_notice": (_l("Счет № %(n)s оплачен"),
                    _l("Плательщик оплатил картой счет № %(n)s на %(a)s. Можно отгружать товар или оказывать услугу.")),
    "payment_received": (_l("Платеж по счету № %(n)s получен"),
                         _l("Ваш платеж %(t)s по счету № %(n)s получен, получатель — %(p)s. Спасибо! "
                            "Это письмо не кассовый чек: чек пришлет платежный сервис.")),
    "refund_notice": (_l("Нужен возврат по счету № %(n)s"),
                      _l("По счету № %(n)s пришел платеж картой, но счет уже нельзя оплатить (отменен или истек). "
                         "Платеж записан: верните деньги плательщику.")),
    "mismatch_notice": (_l("Платеж по счету № %(n)s не совпал с суммой"),
                        _l("По счету № %(n)s пришло подтверждение платежа на другую сумму. Счет не отмечен оплаченным: "
                           "проверьте платеж у платежного сервиса.")),
}


def email(delivery, invoice):
    """The flask_mail.Message for an e-mail delivery (about the invoice, when it has one)."""
    if delivery.kind == "password_changed":
        return _password_changed(delivery)
    context = invoice_context(invoice)
    if delivery.kind in NOTICES:
        subject, text = (str(part) % _values(invoice) for part in NOTICES[delivery.kind])
        link = None if delivery.kind == "payment_received" else public_url("invoice.show", number=invoice.number)
        return _notice(delivery, subject, text, link)
    subject = _subject(delivery.kind, invoice)
    text = render_template("email/invoice.txt", kind=delivery.kind, **context)
    html = render_template("email/invoice.html", kind=delivery.kind, subject=subject, **context)
    message = mail.build(subject, delivery.recipient, text, html, delivery.message_id)
    if invoice.merchant.attach_pdf:  # «Прикладывать PDF к письму»
        message.attach(documents.filename(invoice), "application/pdf", documents.invoice_pdf(invoice))
    return message


def _notice(delivery, subject, text, link=None):
    """A short notice: a subject, one paragraph and maybe a link to the cabinet."""
    context = {"subject": subject, "text": text, "link": link, "operator": _operator()}
    return mail.build(subject, delivery.recipient, render_template("email/notice.txt", **context),
                      render_template("email/notice.html", **context), delivery.message_id)


def _password_changed(delivery):
    """"A password was changed", to the merchant's address: whose, when, and what to do if it was
    not them (no password in it)."""
    merchant = Merchant.get_by_id(delivery.merchant_id)
    user = User.get_or_none(User.id == delivery.user_id) if delivery.user_id else None
    who = f"{user.name or user.signature}, {formatting.phone(user.phone)}" if user else _("удаленный сотрудник")
    when = formatting.datetime_text(delivery.created_at, merchant.timezone, with_zone=True)
    text = _("Пароль кабинета ЦК Бизнес изменен (%(who)s) %(when)s; другие сеансы этого сотрудника завершены. "
             "Если это были не вы, восстановите пароль на странице входа и напишите в поддержку.",
             who=who, when=when)
    return _notice(delivery, _("Пароль ЦК Бизнес изменен"), text, public_url("auth.login"))


def _values(invoice):
    """The values notices mention."""
    return {"n": invoice.number, "a": formatting.rubles(invoice.amount_kop), "p": invoice.issued_with["payee"]["name"],
            "t": formatting.rubles(invoice.amount_kop + invoice.commission_kop)}


def sms_text(delivery, invoice=None, secret=None):
    """A short Russian SMS: the invoice's number, amount and payer link, or the secret it carries."""
    if delivery.kind == "password":
        return _("Временный пароль ЦК Бизнес: %(p)s. Действует 15 минут. Никому его не сообщайте.", p=secret)
    if delivery.kind == "register_code":
        return _("Код подтверждения ЦК Бизнес: %(c)s. Действует 10 минут.", c=secret)
    if delivery.kind == "register_exists":
        return _("Этот номер уже зарегистрирован в ЦК Бизнес. Забыли пароль? Восстановите его на странице входа.")
    if delivery.kind == "invite":
        merchant = Merchant.get_by_id(delivery.merchant_id)
        return _("Вас пригласили в кабинет ЦК Бизнес «%(m)s». Задайте пароль (ссылка действует 72 часа): %(u)s",
                 m=merchant.name, u=public_url("auth.invitation", token=secret))
    if delivery.kind in NOTICES:  # to the merchant, who has no e-mail: the notice and the invoice's link
        text = str(NOTICES[delivery.kind][1]) % _values(invoice)
        return f"{text} {public_url('invoice.show', number=invoice.number)}"
    url = public_url("payer.show", token=invoice.token)
    amount = formatting.rubles(invoice.amount_kop)
    if delivery.kind == "reminder":
        return _("Напоминаем: счет №%(n)s на %(a)s ждет оплаты: %(u)s", n=invoice.number, a=amount, u=url)
    return _("Вам выставлен счет №%(n)s на %(a)s. Оплатить: %(u)s", n=invoice.number, a=amount, u=url)


def invoice_context(invoice):
    """What the invoice template needs: the invoice, its payer link, zone and operator."""
    return {
        "invoice": invoice,
        "pay_url": public_url("payer.show", token=invoice.token) if invoice.token else None,
        "tz": invoice.merchant.timezone if invoice.merchant_id else None,
        "operator": _operator(),
    }


def _operator():
    """The invoice footer (§4.8): who runs the service and how to reach support."""
    return {key: current_app.config[key] for key in ("OPERATOR_NAME", "SUPPORT_EMAIL", "SUPPORT_PHONE")}


def _subject(kind, invoice):
    """The subject line: number, payee and amount, prefixed by what kind of mail it is."""
    base = _("Счет № %(n)s от %(p)s на %(a)s", **_values(invoice))
    prefix = {"reminder": _("Напоминание"), "copy": _("Копия")}.get(kind)
    return f"{prefix}: {base}" if prefix else base
