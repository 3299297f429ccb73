"""Services and their payee organisations: the spec format of add-service and its checks."""
import json
import re

import yaml
from flask_babel import lazy_gettext as _l

from ..database import Prepared
from ..extensions import db
from ..models import MAX_ID, Organisation, Service
from . import money, requisites
from .positions import VAT_RATES

FIELD_KINDS = ("text", "digits", "month", "phone")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class SpecError(ValueError):
    """A service description that cannot be used; the message names the field."""


def read_spec(path):
    """Parse a JSON or YAML service description file."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: not valid JSON/YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping with 'organisation' and 'service'")
    return data


def clean_spec(data):
    """Validate a description; returns (organisation dict, service dict) ready to store."""
    try:
        organisation = requisites.clean_organisation(dict(data.get("organisation") or {}))
    except requisites.OrganisationErrors as exc:
        field, message = next(iter(exc.errors.items()))
        raise SpecError(f"organisation.{field}: {message}") from exc
    service = dict(data.get("service") or {})
    for key in ("display_name", "title"):
        if not str(service.get(key) or "").strip():
            raise SpecError(f"service.{key}: required")
    cleaned = {
        "display_name": str(service["display_name"]).strip()[:200],
        "title": str(service["title"]).strip()[:200],
        "category": str(service.get("category") or "Прочие").strip()[:100],
        "fields": clean_fields(service.get("fields")),
        "vat": str(service.get("vat", "none")),
    }
    if cleaned["vat"] not in VAT_RATES:
        raise SpecError(f"service.vat: one of {', '.join(VAT_RATES)}")
    rule = service.get("commission") or {}
    try:
        cleaned.update(clean_commission(rule.get("percent"), rule.get("min"), rule.get("max")))
    except CommissionError as exc:
        raise SpecError(f"service.commission.{exc.field}: {exc}") from exc
    return organisation, cleaned


def clean_fields(fields):
    """Check the requisite fields: names, labels, kinds, and exactly one key requisite."""
    if not isinstance(fields, list) or not fields:
        raise SpecError("service.fields: a list of at least one requisite field")
    cleaned, names = [], set()
    for i, field in enumerate(fields):
        where = f"service.fields[{i}]"
        name = str(field.get("name") or "")
        if not _FIELD_NAME.match(name) or name in names:
            raise SpecError(f"{where}.name: a unique lowercase identifier (a-z, 0-9, _)")
        label = str(field.get("label") or "").strip()
        if not label:
            raise SpecError(f"{where}.label: required")
        kind = field.get("kind", "text")
        if kind not in FIELD_KINDS:
            raise SpecError(f"{where}.kind: one of {', '.join(FIELD_KINDS)}")
        names.add(name)
        cleaned.append({"name": name, "label": label[:100], "kind": kind,
                        "required": bool(field.get("required", False)),
                        "key": bool(field.get("key", False))})
    keys = [f for f in cleaned if f["key"]]
    if len(keys) != 1:
        raise SpecError("service.fields: exactly one field must have key: true")
    keys[0]["required"] = True
    return cleaned


class CommissionError(ValueError):
    """A commission rule that cannot be used: `field` is percent, min or max."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def clean_commission(percent, minimum, maximum):
    """Percent, minimum and maximum (rubles, as typed or written in a file) to basis points
    and kopecks; no maximum means no cap. The service form and add-service share it."""
    try:
        rate = money.percent_to_bp("0" if percent in (None, "") else percent)
    except ValueError as exc:
        raise CommissionError("percent", _l("Процент от 0 до 100, не больше двух знаков после запятой")) from exc
    amounts = {}
    for field, text in (("min", minimum), ("max", maximum)):
        try:
            amounts[field] = None if text in (None, "") else money.parse_rubles(text)
        except money.AmountError as exc:
            raise CommissionError(field, _l("Суммы — числа рублей, например 10,00")) from exc
    low, high = amounts["min"] or 0, amounts["max"]
    if high is not None and high < low:
        raise CommissionError("max", _l("Минимум не больше максимума"))
    return {"commission_bp": rate, "commission_min_kop": low, "commission_max_kop": high}


def service_of(merchant, service_id):
    """The merchant's service with its organisation, or None (for anyone else's, or an id past 64 bits)."""
    if service_id is None or not 0 < service_id <= MAX_ID:  # SQLite cannot bind a larger one
        return None
    return (Service.of(merchant).join(Organisation).select(Service, Organisation)
            .where(Service.id == service_id).first())


def services_of(merchant):
    """The merchant's services with their organisations, in the order they were added."""
    return _services_with_organisations.all(merchant.id)


@Prepared
def _services_with_organisations(merchant_id):
    """What services_of reads: the issuing form validates against it on every POST, so built once."""
    return Service.of(merchant_id).join(Organisation).select(Service, Organisation)


def add_service(merchant, data):
    """Create the organisation and the service of a description for the merchant."""
    return save_service(merchant, *clean_spec(data))


def save_service(merchant, organisation, service, existing=None):
    """Store a checked organisation and service: new ones, or over an existing service.

    Invoices already issued keep their own copy, so editing changes only new invoices.
    """
    with db.atomic():
        if existing is None:
            org = Organisation.create(merchant=merchant, **organisation)
            return Service.create(merchant=merchant, organisation=org, **service)
        Organisation.update(**organisation).where(Organisation.id == existing.organisation_id).execute()
        Service.update(**service).where(Service.id == existing.id).execute()
        return Service.get_by_id(existing.id)
