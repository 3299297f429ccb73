"""Issuing invoices: what an invoice copies from its service, and the issue itself."""
import re
from datetime import timedelta

from flask_babel import gettext as _

from ..database import utcnow
from ..extensions import db
from ..models import Invoice, InvoiceEvent, Merchant
from . import money, outbox, reminders
from .contacts import PhoneError, normalise_phone
from .positions import total
from .requisites import ORGANISATION_FIELDS
from .typed_text import digits_ascii

MAX_REQUISITE = 200
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
        invoice = Invoice.create(
            merchant=merchant, number=next_number(merchant), service=service, payer_phone=payer_phone, payer_email=payer_email,
            requisites=requisites, key_label=key["label"], key_value=key["value"], comment=comment,
            amount_kop=amount_kop, commission_kop=estimate_commission(service, amount_kop),
            positions=list(positions), payer_org=payer_org,
            issued_with=snapshot(service), issued_at=now, status_changed_at=now,
            expires_at=now + timedelta(hours=validity_hours), repeat_of=repeat_of, issued_by=actor,
            status_changed_by=actor, auto_remind=auto_remind)
        InvoiceEvent.create(invoice=invoice, kind="issued", at=now, actor=actor,
                            note=f"№ {repeat_of.number}" if repeat_of else "")
        if auto_remind:
            reminders.schedule(invoice, reminders.steps_of(merchant), merchant.timezone)
        rows = outbox.for_payer(invoice, "invoice")
        if merchant.copy_invoices and merchant.copy_email:
            rows.append(outbox.add(merchant.id, invoice.id, "email", "copy", merchant.copy_email))
    return invoice, rows


def next_number(merchant):
    """The merchant's next invoice number, taken in the caller's transaction.

    The counter row is updated, not read: PostgreSQL holds its lock until the issuing
    transaction ends, so two invoices issued at once get two numbers; a rollback gives
    the number back, so the sequence has no gaps.
    """
    taken = (Merchant.update(last_invoice_number=Merchant.last_invoice_number + 1)
             .where(Merchant.id == merchant.id).returning(Merchant.last_invoice_number).execute())
    return next(iter(taken)).last_invoice_number


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
