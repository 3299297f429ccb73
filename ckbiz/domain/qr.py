"""Russian payment QR code (GOST R 56042-2014) for a bank transfer to the payee."""
import io
import re

import segno

# "ST0001" + encoding digit; 2 means UTF-8, the only encoding we emit.
HEADER = "ST00012"
# The standard lets the payer's app learn the separator from the header, so any of these will do.
SEPARATORS = "|#;:^_~{}!$%&()*+,/@"
# re.ASCII: \d would otherwise accept Arabic-Indic and other Unicode digits.
_ACCOUNT = re.compile(r"[1-9]\d{4}[0-9ABCEHKMPTX]\d{14}", re.ASCII)
_BIC = re.compile(r"\d{9}", re.ASCII)
MAX_SUM = 10**18 - 1  # Sum is at most 18 digits
NAME_MAX, BANK_NAME_MAX, PURPOSE_MAX = 160, 45, 160


def _clean(value, limit=None):
    """A field value on one line, cut to the standard's length limit."""
    text = str(value or "").replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()
    return text[:limit] if limit else text


def payload(payee: dict, amount_kop: int, purpose: str) -> str:
    """The GOST R 56042-2014 string for paying amount_kop kopecks to payee."""
    # Checked as given, not cleaned: requisites are stored normalised, so stray text is a bug upstream.
    account, corr, bik = (str(payee.get(k) or "") for k in ("account", "corr_account", "bik"))
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"Invalid payee account number: {account!r} (expected 20 characters)")
    if not _ACCOUNT.fullmatch(corr):
        raise ValueError(f"Invalid correspondent account number: {corr!r} (expected 20 characters)")
    if not _BIC.fullmatch(bik):
        raise ValueError(f"Invalid BIC: {bik!r} (expected 9 digits)")
    # bool is an int subclass and floats/Decimals would smuggle in a decimal point: refuse both.
    if type(amount_kop) is not int or not 0 < amount_kop <= MAX_SUM:
        raise ValueError(f"Amount must be a positive integer number of kopecks up to {MAX_SUM}, got {amount_kop!r}")
    name, bank_name = _clean(payee.get("name"), NAME_MAX), _clean(payee.get("bank_name"), BANK_NAME_MAX)
    if not name or not bank_name:
        raise ValueError("Payee name and bank name are required")
    # Mandatory block first, in the order the standard fixes.
    fields = [("Name", name), ("PersonalAcc", account), ("BankName", bank_name),
              ("BIC", bik), ("CorrespAcc", corr)]
    # An empty optional field says nothing, and the standard spells it KPP, not PayeeKPP.
    for key, field in (("PayeeINN", "inn"), ("KPP", "kpp")):
        if value := _clean(payee.get(field)):
            fields.append((key, value))
    fields.append(("Sum", str(amount_kop)))
    fields.append(("Purpose", _clean(purpose, PURPOSE_MAX)))
    sep = next((s for s in SEPARATORS if not any(s in v for _, v in fields)), None)
    if sep is None:
        raise ValueError("Payee details contain every allowed separator character")
    return HEADER + sep + sep.join(f"{k}={v}" for k, v in fields)


def purpose_text(number: int, key_label: str, key_value: str) -> str:
    """Payment purpose naming the invoice and the payer's key (e.g. account number)."""
    return f"Оплата по счету № {number}, {key_label} {key_value}"[:PURPOSE_MAX]


def png(data: str, scale: int = 6) -> bytes:
    """PNG image of data as a QR code with the standard 4-module quiet zone."""
    # Byte mode + UTF-8 so the symbol holds exactly data.encode("utf-8"), as header digit 2 promises
    # (segno would otherwise be free to pick Kanji/Shift_JIS for Cyrillic); no ECI, the header
    # digit already names the encoding; no Micro QR, which payment apps are not required to read.
    qr = segno.make(data, error="m", mode="byte", encoding="utf-8", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def for_invoice(invoice) -> str:
    """The QR text of an invoice: its payee, the amount without card commission, the purpose."""
    purpose = purpose_text(invoice.number, invoice.key_label, invoice.key_value)
    return payload(invoice.issued_with["payee"], invoice.amount_kop, purpose)
