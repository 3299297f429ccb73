"""Services and their payee organisations: the spec format of add-service and its checks."""
import json
import re
from decimal import Decimal, InvalidOperation

import yaml

from . import money, requisites
from .extensions import db
from .models import Organisation, Service

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
        **clean_commission(service.get("commission") or {}),
    }
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


def clean_commission(rule):
    """Percent, minimum and maximum (rubles) to basis points and kopecks."""
    try:
        rate = money.percent_to_bp(rule.get("percent", "0"))
        low = money.to_kopecks(Decimal(str(rule.get("min") or "0")))
        high = rule.get("max")
        high = None if high in (None, "") else money.to_kopecks(Decimal(str(high)))
    except (ValueError, InvalidOperation) as exc:
        raise SpecError(f"service.commission: {exc}") from exc
    if low < 0 or (high is not None and high < low):
        raise SpecError("service.commission: 0 ≤ min ≤ max")
    return {"commission_bp": rate, "commission_min_kop": low, "commission_max_kop": high}


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
