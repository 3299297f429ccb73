"""Russian organisation requisites (ИНН, КПП, БИК, счета): normalise and validate, nothing else."""
import re

# flask_babel 4 lazy strings render in the request's locale, and as the Russian source
# text outside an app context, so the validators work (and are tested) without an app.
from flask_babel import lazy_gettext as _l
from stdnum import exceptions as stdnum_exc
from stdnum.ru import inn as stdnum_inn

from .typed_text import digits_ascii, visible

_WEIGHTS = (7, 1, 3)
# Settlement centres (РКЦ) of the Bank of Russia end in 000/001/002: their BIK tail
# is not a bank's own number, so their corr. accounts do not end with it.
_SETTLEMENT_TAILS = ("000", "001", "002")
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_TEXT_LIMIT = 200
# An organisation's requisites, as forms, service files and invoices' copies name them.
ORGANISATION_FIELDS = ("name", "inn", "kpp", "account", "bik", "bank_name", "corr_account", "recipient")
_LABELS = {
    "name": _l("Название"), "inn": _l("ИНН"), "kpp": _l("КПП"), "bik": _l("БИК"),
    "account": _l("Расчётный счёт"), "corr_account": _l("Корр. счёт"),
    "bank_name": _l("Банк"), "recipient": _l("Получатель"),
}


class RequisiteError(ValueError):
    """One invalid requisite: `field` names it, str(exc) is the Russian message."""

    def __init__(self, field, message):
        """Keep the field name next to the (lazy) message."""
        super().__init__(message)
        self.field = field
        self.message = message


class OrganisationErrors(ValueError):
    """Every invalid field of an organisation at once, as {field: message}."""

    def __init__(self, errors):
        """Keep the whole mapping so a form can mark every bad field in one round trip."""
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _compact(value):
    """The value without any whitespace: people paste "7707 083 893"."""
    return "".join(digits_ascii(value).split())


def _fail(field, message):
    """A RequisiteError whose message starts with the field's Russian label."""
    # Label and message stay separate literals so that pybabel can extract both.
    label = _LABELS[field]
    return RequisiteError(field, _l("%(label)s: %(message)s", label=label, message=message))


def _digits(value, length, field):
    """Return exactly `length` ASCII digits or raise; str.isdigit() would admit "²"."""
    s = _compact(value)
    if not s:
        raise _fail(field, _l("не заполнено"))
    if not re.fullmatch(r"[0-9]{%d}" % length, s):
        raise _fail(field, _l("нужно ровно %(n)d цифр", n=length))
    return s


def _key_ok(digits):
    """Bank of Russia control key: weighted sum 7,1,3,… is divisible by 10."""
    return sum(int(c) * _WEIGHTS[i % 3] for i, c in enumerate(digits)) % 10 == 0


def clean_inn(value):
    """Return a valid 10- or 12-digit ИНН or raise RequisiteError("inn")."""
    s = _compact(value)
    if not s:
        raise _fail("inn", _l("не заполнено"))
    bad_format = _l("нужно 10 цифр (организация) или 12 цифр (ИП)")
    # stdnum would accept full-width "７７０…" digits and hand them back unnormalised.
    if not s.isascii():
        raise _fail("inn", bad_format)
    try:
        return stdnum_inn.validate(s)
    except stdnum_exc.InvalidChecksum as exc:
        raise _fail("inn", _l("неверная контрольная сумма")) from exc
    except stdnum_exc.ValidationError as exc:
        raise _fail("inn", bad_format) from exc


def clean_kpp(value):
    """Return a valid КПП, or "" when empty (ИП have none), or raise RequisiteError("kpp")."""
    s = _compact(value)
    if s and not _KPP.fullmatch(s):
        raise _fail("kpp", _l("9 символов — 4 цифры, 2 цифры или латинские A–Z, 3 цифры"))
    return s


def clean_bik(value):
    """Return a valid Russian БИК (9 digits, starting with 04) or raise RequisiteError("bik")."""
    s = _digits(value, 9, "bik")
    if not s.startswith("04"):
        raise _fail("bik", _l("российский БИК начинается с 04"))
    return s


def clean_account(account, bik):
    """Return a valid расчётный счёт for the given БИК or raise RequisiteError("account")."""
    s = _digits(account, 20, "account")
    # The key covers the BIK, so without a valid BIK the account cannot be checked.
    if not _key_ok(clean_bik(bik)[-3:] + s):
        raise _fail("account", _l("неверный контрольный ключ или не тот БИК"))
    return s


def clean_corr_account(corr, bik):
    """Return a valid корр. счёт for the given БИК or raise RequisiteError("corr_account")."""
    s, bik = _digits(corr, 20, "corr_account"), clean_bik(bik)
    if not s.startswith("30101"):
        raise _fail("corr_account", _l("должен начинаться с 30101"))
    if not _key_ok("0" + bik[4:6] + s):
        raise _fail("corr_account", _l("неверный контрольный ключ или не тот БИК"))
    if bik[-3:] not in _SETTLEMENT_TAILS and s[-3:] != bik[-3:]:
        raise _fail("corr_account", _l("последние 3 цифры должны совпадать с БИК"))
    return s


def clean_organisation(data):
    """Return the cleaned organisation dict or raise OrganisationErrors with every bad field."""
    out = {k: visible(str(data.get(k) or "")) for k in _LABELS}
    errors = {}
    for field in ("name", "bank_name", "recipient"):
        if not out[field] and field != "recipient":
            errors[field] = _fail(field, _l("не заполнено")).message
        elif len(out[field]) > _TEXT_LIMIT:
            errors[field] = _fail(field, _l("не длиннее %(n)d символов", n=_TEXT_LIMIT)).message
    # Defaulted after the checks, so a bad name is not reported twice.
    out["recipient"] = out["recipient"] or out["name"]
    for field, check in (("inn", clean_inn), ("kpp", clean_kpp), ("bik", clean_bik),
                         ("account", clean_account), ("corr_account", clean_corr_account)):
        try:
            if field not in ("account", "corr_account"):
                out[field] = check(out[field])
            elif "bik" in errors:
                # The bad BIK is reported already; blaming the accounts for it would mislead.
                out[field] = _digits(out[field], 20, field)
            else:
                out[field] = check(out[field], out["bik"])
        except RequisiteError as exc:
            errors[field] = exc.message
    if errors:
        raise OrganisationErrors(errors)
    return out


def clean_payer_organisation(data):
    """The payer organisation of an invoice ({"name", "inn", "kpp"}), None when nothing is typed,
    or OrganisationErrors with every bad field. An ИП (12-digit ИНН) has no КПП."""
    out = {k: " ".join(visible(str(data.get(k) or "")).split()) for k in ("name", "inn", "kpp")}
    if not any(out.values()):
        return None
    errors = {}
    if not out["name"]:
        errors["name"] = _fail("name", _l("не заполнено")).message
    elif len(out["name"]) > _TEXT_LIMIT:
        errors["name"] = _fail("name", _l("не длиннее %(n)d символов", n=_TEXT_LIMIT)).message
    for field, check in (("inn", clean_inn), ("kpp", clean_kpp)):
        try:
            out[field] = check(out[field])
        except RequisiteError as exc:
            errors[field] = exc.message
    if "inn" not in errors and len(out["inn"]) == 12 and out["kpp"]:
        errors["kpp"] = _fail("kpp", _l("у ИП нет КПП")).message
    if errors:
        raise OrganisationErrors(errors)
    return out
