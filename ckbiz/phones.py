"""Russian mobile numbers: one normal form, 9XXXXXXXXX, whatever the merchant typed."""
import phonenumbers
from flask_babel import lazy_gettext as _l


class PhoneError(ValueError):
    """A phone number that is not a Russian mobile number."""


def normalise(raw):
    """Return the ten digits 9XXXXXXXXX of a Russian mobile number, or raise PhoneError."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError(_l("Укажите номер телефона"))
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(_l("Номер телефона не распознан: введите 9XXXXXXXXX")) from exc
    if (
        number.country_code != 7
        or phonenumbers.region_code_for_number(number) != "RU"
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise PhoneError(_l("Нужен российский мобильный номер в формате 9XXXXXXXXX"))
    return str(number.national_number)


def display(phone):
    """+7 902 637-65-77 for 9026376577."""
    if not phone:
        return ""
    return f"+7 {phone[:3]} {phone[3:6]}-{phone[6:8]}-{phone[8:]}"

