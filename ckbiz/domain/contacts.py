"""A payer's contacts in one normal form whatever was typed: Russian mobile numbers as
9XXXXXXXXX, e-mail addresses as email-validator normalises them."""
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from .typed_text import visible


class PhoneError(ValueError):
    """A phone number that is not a Russian mobile number."""


def normalise_phone(raw):
    """Return the ten digits 9XXXXXXXXX of a Russian mobile number, or raise PhoneError."""
    text = visible(raw or "")
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


EMAIL_INVALID = _l("Адрес эл. почты указан неверно")
NON_ASCII_MAILBOX = _l("Часть адреса до знака @ — латиницей: русские буквы в ней почтовые серверы не принимают")
MAX_EMAIL = 254


class NonAsciiMailbox(EmailNotValidError):
    """An address with letters beyond ASCII before the @, which only SMTPUTF8 servers carry."""


def clean_email(raw):
    """A payer's optional e-mail address in its normal form, None when empty; ValueError with
    the message to show otherwise."""
    text = visible(raw or "")
    if not text:
        return None
    if len(text) > MAX_EMAIL:
        raise ValueError(str(EMAIL_INVALID))
    try:
        return normalise_email(text)
    except NonAsciiMailbox as exc:
        raise ValueError(str(NON_ASCII_MAILBOX)) from exc
    except EmailNotValidError as exc:
        raise ValueError(str(EMAIL_INVALID)) from exc


def normalise_email(raw):
    """The normalised address, or email_validator.EmailNotValidError; no DNS lookups (offline installs).

    A Cyrillic domain (пример.рф) is fine: mail goes to its IDNA form. A Cyrillic name before
    the @ needs SMTPUTF8 from every server on the way, which ckbiz does not use, so it is
    refused here with a message instead of failing at every send.
    """
    text = visible(raw)
    if not text.rpartition("@")[0].isascii():
        raise NonAsciiMailbox(text)
    return validate_email(text, check_deliverability=False).normalized
