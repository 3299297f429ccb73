"""Form pieces shared by every area: the base Form, the phone and e-mail fields' checks, the password rules."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, SelectField, StringField, ValidationError

from .domain.accounts import password_problem
from .domain.contacts import PhoneError, clean_email, normalise_phone
from .domain.typed_text import visible


class Form(FlaskForm):
    """The base of every form: typed values lose invisible characters (domain.typed_text) before
    any check reads them, so "required" sees what a person sees. Passwords stay exactly as typed."""

    class Meta:
        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if formdata is None:
                return None
            secret = {field.name for field in form if isinstance(field, PasswordField)}
            return MultiDict([(key, value if key in secret else visible(value))
                              for key, value in formdata.items(multi=True)])


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
