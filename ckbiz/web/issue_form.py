"""The «Выставить счет» form (§4.3–4.6): fixed fields, the chosen service's requisites, and the
optional positions and payer organisation."""
import re
from functools import cached_property

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, StringField, TextAreaField, ValidationError
from wtforms.validators import InputRequired, Length

from ..domain import catalog, invoicing, money, positions, reminders, requisites
from ..forms import ChoiceField, Form, PhoneField, email_address

REQUISITE_PREFIX = "req-"
# A positions row's inputs are pos-<row>-<field>; rows are numbered anew at each render.
_POSITION_INPUT = re.compile(r"^pos-(\d{1,4})-(%s)$" % "|".join(positions.FIELDS))
BLANK_ROW = {"name": "", "quantity": "1", "unit": "шт.", "price": "", "vat": "none"}


def row_amount(row):
    """Kopecks of one typed row, or None while its quantity or price cannot be read."""
    try:
        price = money.parse_rubles(row.get("price"))
        return positions.line_amount(positions.parse_quantity(row.get("quantity")), price)
    except ValueError:
        return None


class IssueForm(Form):
    service = ChoiceField(_l("Услуга"), coerce=int)
    payer_phone = PhoneField(_l("Телефон"))
    payer_email = EmailField(_l("Эл. адрес"), validators=[Length(max=254), email_address])
    comment = TextAreaField(_l("Комментарий к платежу"))
    validity_hours = IntegerField(_l("Срок действия счета"),
                                  validators=[InputRequired(_l("Укажите срок действия в часах"))])
    amount = StringField(_l("Сумма к оплате, руб."))
    payer_org_name = StringField(_l("Название"))
    payer_org_inn = StringField(_l("ИНН"))
    payer_org_kpp = StringField(_l("КПП"))
    no_reminders = BooleanField(_l("Не напоминать автоматически"))

    amount_kop = None
    requisites = None
    payer_org = None

    def __init__(self, merchant, services, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        self.services = {s.id: s for s in services}
        self.service.choices = [(s.id, service_label(s)) for s in services]
        self.requisite_values, self.requisite_errors = {}, {}
        self.rows, self.position_errors, self.positions_error = [dict(BLANK_ROW)], {}, ""
        self.positions = []
        if not self.service.raw_data and services:
            self.service.data = services[0].id

    @cached_property
    def reminder_steps(self):
        """The merchant's automatic reminders: read only when the whole form is drawn, not for
        each live «Позиции» keystroke."""
        return reminders.steps_of(self.merchant)

    @property
    def chosen(self):
        """The chosen service (the first one until the merchant picks another)."""
        return self.services.get(self.service.data)

    def validate_validity_hours(self, field):
        if field.data is None:  # not a number: WTForms has said so already
            return
        if problem := invoicing.validity_problem(field.data, int(current_app.config["MAX_VALIDITY_HOURS"])):
            raise ValidationError(problem)

    def validate_comment(self, field):
        if problem := invoicing.comment_problem(field.data or ""):
            raise ValidationError(problem)

    @property
    def has_positions(self):
        """True when a row is typed: the amount is then the rows' sum, not typed."""
        return not all(positions.is_blank(row) for row in self.rows)

    @property
    def rows_total(self):
        """Kopecks of the rows that can be read so far (the live sum while typing)."""
        amounts = [row_amount(row) for row in self.rows]
        return sum(a for a in amounts if a)

    amount_of = staticmethod(row_amount)

    @property
    def rows_vat(self):
        """Kopecks of VAT in the readable rows, or None while every row is «Без НДС»."""
        rated = [(row_amount(row), row["vat"]) for row in self.rows
                 if row["vat"] in positions.VAT_RATES and row["vat"] != "none"]
        if not rated:
            return None
        return sum(positions.vat_of(amount, vat) for amount, vat in rated if amount)

    def validate_amount(self, field):
        if self.has_positions:
            return
        try:
            self.amount_kop = money.parse_amount(field.data, current_app.config["MAX_AMOUNT"])
        except money.AmountError as exc:
            raise ValidationError(str(exc)) from exc

    def validate(self, extra_validators=None):
        """The fixed fields, a contact to send to, and the service's requisites."""
        ok = super().validate(extra_validators)
        if not self.payer_phone.errors and not self.payer_email.errors and (
                problem := invoicing.contact_problem(self.payer_phone.phone, self.payer_email.data)):
            self.payer_phone.errors.append(problem)
            ok = False
        if self.chosen is None:
            return False
        try:
            self.requisites = invoicing.clean_requisites(self.chosen, self.requisite_values)
        except invoicing.RequisiteErrors as exc:
            self.requisite_errors = exc.errors
            ok = False
        return self._validate_positions() & self._validate_payer_org() & ok

    def _validate_positions(self):
        try:
            self.positions = positions.clean_positions(self.rows, current_app.config["MAX_AMOUNT"])
        except positions.PositionErrors as exc:
            self.position_errors, self.positions_error = exc.rows, exc.total
            return False
        if self.positions:
            self.amount_kop = positions.total(self.positions)
        return True

    def _validate_payer_org(self):
        fields = {"name": self.payer_org_name, "inn": self.payer_org_inn, "kpp": self.payer_org_kpp}
        try:
            self.payer_org = requisites.clean_payer_organisation({k: f.data for k, f in fields.items()})
        except requisites.OrganisationErrors as exc:
            for key, message in exc.errors.items():
                fields[key].errors = [*fields[key].errors, message]
            return False
        return True

    def read_requisites(self, formdata):
        """Pick this service's requisite values out of the submitted data."""
        if self.chosen is not None and formdata is not None:
            self.requisite_values = {f["name"]: formdata.get(REQUISITE_PREFIX + f["name"], "")
                                     for f in self.chosen.fields}

    def read_rows(self, formdata):
        """The positions rows as typed, in their order; one blank row when there are none."""
        rows = {}
        for key in formdata or ():
            if match := _POSITION_INPUT.match(key):
                rows.setdefault(int(match[1]), dict(BLANK_ROW))[match[2]] = formdata.get(key, "")
        # More rows than any invoice may have are not read: clean_positions says so.
        self.rows = [rows[i] for i in sorted(rows)][:positions.MAX_POSITIONS + 1] or [dict(BLANK_ROW)]

    def add_row(self):
        """«Добавить позицию»: a blank row at the end, up to the limit."""
        if len(self.rows) < positions.MAX_POSITIONS:
            self.rows.append(dict(BLANK_ROW))

    def remove_row(self, index):
        """«Удалить» on a row; the last row left is emptied instead."""
        if 0 <= index < len(self.rows):
            del self.rows[index]
        self.rows = self.rows or [dict(BLANK_ROW)]

    def issue_values(self):
        """The validated values, as issue_invoice and draft_invoice take them."""
        return {"payer_phone": self.payer_phone.phone, "payer_email": self.payer_email.data,
                "requisites": self.requisites, "comment": self.comment.data or "",
                "amount_kop": self.amount_kop, "validity_hours": self.validity_hours.data,
                "positions": self.positions, "payer_org": self.payer_org,
                "auto_remind": not self.no_reminders.data}



def service_label(service):
    """«Демо ПА / Демо-организация / демо-услуга / Прочие» (§4.3)."""
    return " / ".join((service.display_name, service.organisation.name, service.title, service.category))


def build(merchant, formdata=None):
    """The form for this merchant, bound to formdata (POST body or query string) when given."""
    services = catalog.services_of(merchant)
    form = IssueForm(merchant, services, formdata=formdata)
    if not form.is_submitted() and not (formdata and formdata.get("validity_hours")):
        form.validity_hours.data = (merchant.default_validity_hours
                                    or current_app.config["DEFAULT_VALIDITY_HOURS"])
    form.read_requisites(formdata)
    form.read_rows(formdata)
    return form
