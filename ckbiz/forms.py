"""Form pieces shared by several areas: the phone and e-mail fields' checks, the password rules."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, ValidationError

from .domain.accounts import password_problem
from .domain.contacts import PhoneError, clean_email, normalise_phone


class PhoneField(StringField):
    """A text field that accepts any common spelling and keeps 9XXXXXXXXX in .phone."""

    phone = None

    def pre_validate(self, form):
        self.phone = None
        if not (self.data or "").strip():
            if self.flags.required:
                raise ValidationError(_l("Укажите номер телефона"))
            return
        try:
            self.phone = normalise_phone(self.data)
        except PhoneError as exc:
            raise ValidationError(str(exc)) from exc


def password_length(form, field):
    """WTForms validator for the password rules of accounts."""
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def email_address(form, field):
    """WTForms validator: a deliverable-looking address, replaced by its normal form."""
    try:
        field.data = clean_email(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def strip(value):
    """A WTForms filter: trim surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


class ChoiceField(SelectField):
    """A select whose refusals speak Russian (WTForms' own messages are English)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None

    def pre_validate(self, form):
        if self.data not in {value for value, _label in self.choices}:
            raise ValidationError(_l("Выберите значение из списка"))
