"""The «Выставить счет» form (§4.3–4.6): fixed fields plus the chosen service's requisites."""
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, StringField, TextAreaField, ValidationError
from wtforms.validators import InputRequired, Length, NumberRange

from ..domain import catalog, invoicing, money
from ..forms import ChoiceField, PhoneField, email_address, strip

MAX_COMMENT = 1000
REQUISITE_PREFIX = "req-"


class IssueForm(FlaskForm):
    service = ChoiceField(_l("Услуга"), coerce=int)
    payer_phone = PhoneField(_l("Телефон"))
    payer_email = EmailField(_l("Эл. адрес"), validators=[Length(max=254), email_address])
    comment = TextAreaField(_l("Комментарий к платежу"), filters=[strip],
                            validators=[Length(max=MAX_COMMENT, message=_l("Не больше 1000 символов"))])
    validity_hours = IntegerField(_l("Срок действия счета"),
                                  validators=[InputRequired(_l("Укажите срок действия в часах"))])
    amount = StringField(_l("Сумма к оплате, руб."))

    amount_kop = None
    requisites = None

    def __init__(self, services, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {s.id: s for s in services}
        self.service.choices = [(s.id, service_label(s)) for s in services]
        self.requisite_values, self.requisite_errors = {}, {}
        if not self.service.raw_data and services:
            self.service.data = services[0].id

    @property
    def chosen(self):
        """The chosen service (the first one until the merchant picks another)."""
        return self.services.get(self.service.data)

    def validate_validity_hours(self, field):
        if field.data is None:  # not a number: WTForms has said so already
            return
        maximum = int(current_app.config["MAX_VALIDITY_HOURS"])
        NumberRange(1, maximum, _("От 1 до %(max)d часов", max=maximum))(self, field)

    def validate_amount(self, field):
        try:
            self.amount_kop = money.parse_amount(field.data, current_app.config["MAX_AMOUNT"])
        except money.AmountError as exc:
            raise ValidationError(str(exc)) from exc

    def validate(self, extra_validators=None):
        """The fixed fields, a contact to send to, and the service's requisites."""
        ok = super().validate(extra_validators)
        if not self.payer_phone.errors and not self.payer_email.errors and not (
                self.payer_phone.phone or self.payer_email.data):
            self.payer_phone.errors.append(_("Укажите телефон или эл. адрес плательщика (можно оба)"))
            ok = False
        if self.chosen is None:
            return False
        try:
            self.requisites = invoicing.clean_requisites(self.chosen, self.requisite_values)
        except invoicing.RequisiteErrors as exc:
            self.requisite_errors = exc.errors
            ok = False
        return ok

    def read_requisites(self, formdata):
        """Pick this service's requisite values out of the submitted data."""
        if self.chosen is not None and formdata is not None:
            self.requisite_values = {f["name"]: formdata.get(REQUISITE_PREFIX + f["name"], "")
                                     for f in self.chosen.fields}

    def issue_values(self):
        """The validated values, as issue_invoice and draft_invoice take them."""
        return {"payer_phone": self.payer_phone.phone, "payer_email": self.payer_email.data,
                "requisites": self.requisites, "comment": self.comment.data or "",
                "amount_kop": self.amount_kop, "validity_hours": self.validity_hours.data}


def service_label(service):
    """«Демо ПА / Демо-организация / демо-услуга / Прочие» (§4.3)."""
    return " / ".join((service.display_name, service.organisation.name, service.title, service.category))


def build(merchant, formdata=None):
    """The form for this merchant, bound to formdata (POST body or query string) when given."""
    services = catalog.services_of(merchant)
    form = IssueForm(services, formdata=formdata)
    if not form.is_submitted() and not (formdata and formdata.get("validity_hours")):
        form.validity_hours.data = (merchant.default_validity_hours
                                    or current_app.config["DEFAULT_VALIDITY_HOURS"])
    form.read_requisites(formdata)
    return form
