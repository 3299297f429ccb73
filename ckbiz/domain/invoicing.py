"""Issuing invoices: what an invoice copies from its service, and the issue itself."""
import re
from datetime import timedelta

from flask_babel import gettext as _
from peewee import fn

from ..database import Prepared, utcnow
from ..extensions import db
from ..models import Invoice, InvoiceEvent, Merchant, ReminderStep, Webhook
from . import catalog, money, outbox, positions, reminders, requisites
from .contacts import PhoneError, clean_email, normalise_phone
from .positions import total
from .requisites import ORGANISATION_FIELDS
from .typed_text import digits_ascii

MAX_REQUISITE = 200
MAX_COMMENT = 1000
_MONTH = re.compile(r"^(0[1-9]|1[0-2])\.(19|20)\d\d$", re.ASCII)


def snapshot(service):
    """What an invoice keeps of its service, so later edits never change a sent invoice."""
    org = service.organisation
    return {
        "payee": {name: getattr(org, name) for name in ORGANISATION_FIELDS},
        "service": {"title": service.title, "category": service.category,
                    "display_name": service.display_name, "vat": service.vat},
        "commission": {"bp": service.commission_bp, "min_kop": service.commission_min_kop,
                       "max_kop": service.commission_max_kop},
    }


def estimate_commission(service, amount_kop):
    """The commission the payer will be charged on top of the amount, in kopecks."""
    return money.commission(amount_kop, service.commission_bp, service.commission_min_kop,
                            service.commission_max_kop)


def clean_requisites(service, values):
    """Check the values typed for the service's fields; returns the list stored on the invoice.

    values maps field name to text. Raises RequisiteErrors with one message per bad field.
    """
    cleaned, errors = [], {}
    for field in service.fields:
        raw = " ".join(digits_ascii(values.get(field["name"])).split())
        try:
            value = _clean_value(field, raw)
        except ValueError as exc:
            errors[field["name"]] = str(exc)
            continue
        cleaned.append({"name": field["name"], "label": field["label"], "key": field["key"],
                        "value": value})
    if errors:
        raise RequisiteErrors(errors)
    return cleaned


class RequisiteErrors(ValueError):
    """Several requisite values at once, {field name: message}."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _clean_value(field, raw):
    """One value by its field's kind."""
    if not raw:
        if field["required"]:
            raise ValueError(_("Заполните поле «%(label)s»", label=field["label"]))
        return ""
    if len(raw) > MAX_REQUISITE:
        raise ValueError(_("Не больше %(n)d символов", n=MAX_REQUISITE))
    kind = field["kind"]
    if kind == "digits" and not (raw.isascii() and raw.isdigit()):
        raise ValueError(_("Только цифры"))
    if kind == "month" and not _MONTH.match(raw):
        raise ValueError(_("Месяц в формате ММ.ГГГГ, например 04.2016"))
    if kind == "phone":
        try:
            return normalise_phone(raw)
        except PhoneError as exc:
            raise ValueError(str(exc)) from exc
    return raw


def validity_problem(hours, maximum):
    """What is wrong with an invoice's validity in hours (1 to `maximum`), or None."""
    if hours is None or not 1 <= hours <= maximum:
        return _("От 1 до %(max)d часов", max=maximum)
    return None


def comment_problem(comment):
    """What is wrong with the comment to the payment, or None."""
    return _("Не больше %(n)d символов", n=MAX_COMMENT) if len(comment) > MAX_COMMENT else None


def contact_problem(phone, email):
    """An invoice goes to the payer by SMS or e-mail: one of them is needed."""
    return None if phone or email else _("Укажите телефон или эл. адрес плательщика (можно оба)")


class InvoiceErrors(ValueError):
    """What is wrong with an invoice to issue: {field: [messages]}, fields named as in the API."""

    def __init__(self, errors):
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


def clean_request(merchant, data, limits):
    """The service and the issue_invoice values of an invoice described as plain data (the API's
    JSON: service_id, payer {phone, email}, requisites {name: value}, amount or positions, comment,
    validity_hours, payer_org), checked by the same rules as the «Выставить счет» form.

    `limits` holds MAX_AMOUNT, MAX_VALIDITY_HOURS and DEFAULT_VALIDITY_HOURS. Raises InvoiceErrors.
    """
    errors = {}

    def check(field, work):
        try:
            return work()
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
            return None

    service = catalog.service_of(merchant, data.get("service_id"))
    if service is None:
        errors["service_id"] = [_("Нет такой услуги")]
    payer = data.get("payer") or {}
    phone = check("payer.phone", lambda: normalise_phone(payer["phone"]) if payer.get("phone") else None)
    email = check("payer.email", lambda: clean_email(payer.get("email")))
    if "payer.phone" not in errors and "payer.email" not in errors and (problem := contact_problem(phone, email)):
        errors["payer"] = [problem]
    comment = " ".join((data.get("comment") or "").split())
    if problem := comment_problem(comment):
        errors["comment"] = [problem]
    hours = data.get("validity_hours")
    if hours is None:
        hours = merchant.default_validity_hours or limits["DEFAULT_VALIDITY_HOURS"]
    if problem := validity_problem(hours, int(limits["MAX_VALIDITY_HOURS"])):
        errors["validity_hours"] = [problem]
    amount_kop, lines = _clean_sum(data, limits["MAX_AMOUNT"], errors)
    payer_org = None
    try:
        payer_org = requisites.clean_payer_organisation(data.get("payer_org") or {})
    except requisites.OrganisationErrors as exc:
        errors.update({f"payer_org.{k}": [str(m)] for k, m in exc.errors.items()})
    cleaned = None
    if service is not None:
        try:
            cleaned = clean_requisites(service, data.get("requisites") or {})
        except RequisiteErrors as exc:
            errors.update({f"requisites.{k}": [str(m)] for k, m in exc.errors.items()})
    if errors:
        raise InvoiceErrors(errors)
    return service, {"payer_phone": phone, "payer_email": email, "requisites": cleaned, "comment": comment,
                     "amount_kop": amount_kop, "validity_hours": hours, "positions": lines, "payer_org": payer_org}


def _clean_sum(data, maximum, errors):
    """(amount in kopecks, positions) of a request: an amount or positions, never both."""
    rows = data.get("positions") or []
    if rows and data.get("amount") is not None:
        errors["amount"] = [_("Укажите сумму или позиции, не то и другое")]
        return None, []
    if not rows:
        try:
            return money.parse_amount(data.get("amount"), maximum), []
        except money.AmountError as exc:
            errors["amount"] = [str(exc)]
            return None, []
    try:
        lines = positions.clean_positions(rows, maximum)
    except positions.PositionErrors as exc:
        for index, fields in exc.rows.items():
            errors.update({f"positions.{index}.{k}": [str(m)] for k, m in fields.items()})
        if exc.total:
            errors["positions"] = [str(exc.total)]
        return None, []
    return total(lines), lines


def issue_invoice(merchant, service, *, payer_phone, payer_email, requisites, comment,
                  amount_kop, validity_hours, actor, repeat_of=None, positions=(), payer_org=None,
                  auto_remind=True):
    """Create an issued invoice, its event and its deliveries in one transaction; `actor` is who
    issued it, as events name them. With positions (domain.positions) the amount is their sum.

    Returns (invoice, outbox rows): queue the rows once the transaction has committed.
    """
    now = utcnow()
    key = next(r for r in requisites if r["key"])
    if positions:
        amount_kop = total(positions)
    with db.atomic():
        taken = take_number(merchant)
        invoice = Invoice.create(
            merchant=merchant, number=taken.last_invoice_number, service=service, payer_phone=payer_phone,
            payer_email=payer_email, requisites=requisites, key_label=key["label"], key_value=key["value"],
            comment=comment,
            amount_kop=amount_kop, commission_kop=estimate_commission(service, amount_kop),
            positions=list(positions), payer_org=payer_org,
            issued_with=snapshot(service), issued_at=now, status_changed_at=now,
            expires_at=now + timedelta(hours=validity_hours), repeat_of=repeat_of, issued_by=actor,
            status_changed_by=actor, auto_remind=auto_remind)
        InvoiceEvent.create(invoice=invoice, kind="issued", at=now, actor=actor,
                            note=f"№ {repeat_of.number}" if repeat_of else "")
        if auto_remind and taken.reminds:
            reminders.schedule(invoice, reminders.steps_of(merchant), merchant.timezone)
        also = []
        if merchant.copy_invoices and merchant.copy_email:
            also.append(("email", "copy", merchant.copy_email))
        if taken.webhook_url:
            also.append(("webhook", "invoice.issued", taken.webhook_url))
        rows = outbox.for_payer(invoice, "invoice", also)
    return invoice, rows


def take_number(merchant):
    """The merchant's next invoice number (`last_invoice_number`), taken in the caller's transaction,
    with what issuing needs to know of the merchant at that moment: its webhook's URL
    (`webhook_url`, None without one) and whether it has reminder steps (`reminds`).

    The counter row is updated, not read: PostgreSQL holds its lock until the issuing
    transaction ends, so two invoices issued at once get two numbers; a rollback gives
    the number back, so the sequence has no gaps. The webhook and the steps come in the same
    statement, so a merchant without them costs no query for them.
    """
    return _next_number.first(merchant.id)


@Prepared
def _next_number(merchant_id):
    """take_number's statement, built once: every issue runs it."""
    hook = Webhook.select(Webhook.url).where(Webhook.merchant == Merchant.id)
    steps = ReminderStep.select(ReminderStep.id).where(ReminderStep.merchant == Merchant.id)
    return (Merchant.update(last_invoice_number=Merchant.last_invoice_number + 1)
            .where(Merchant.id == merchant_id)
            .returning(Merchant.last_invoice_number, hook.alias("webhook_url"), fn.EXISTS(steps).alias("reminds")))


def draft_invoice(merchant, service, **values):
    """An unsaved invoice as «Просмотр» shows it: nothing is written."""
    now = utcnow()
    key = next(r for r in values["requisites"] if r["key"])
    positions = values.get("positions") or []
    amount_kop = total(positions) if positions else values["amount_kop"]
    return Invoice(
        merchant=merchant, service=service, payer_phone=values["payer_phone"],
        payer_email=values["payer_email"], requisites=values["requisites"], key_label=key["label"],
        key_value=key["value"], comment=values["comment"], amount_kop=amount_kop,
        commission_kop=estimate_commission(service, amount_kop), positions=positions,
        payer_org=values.get("payer_org"),
        issued_with=snapshot(service), issued_at=now,
        expires_at=now + timedelta(hours=values["validity_hours"]), token=None)
