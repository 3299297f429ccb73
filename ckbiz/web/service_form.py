"""The merchant's own service (MERCHANT_SERVICES=self): its payee organisation, title,
commission rule and requisite fields, with a message beside every wrong field."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, FormField, RadioField, StringField
from wtforms import Form as RowForm
from wtforms.validators import InputRequired, Length

from ..domain import catalog, money, positions, requisites
from ..domain.requisites import ORGANISATION_FIELDS
from ..formatting import plain_rubles
from ..forms import ChoiceField, Form

KINDS = [("text", _l("текст")), ("digits", _l("цифры")), ("month", _l("месяц ММ.ГГГГ")), ("phone", _l("телефон"))]
ROWS = 6


class RequisiteFieldForm(RowForm):
    label = StringField(_l("Название поля"), validators=[Length(max=100)])
    kind = ChoiceField(_l("Тип"), choices=KINDS, default="text")
    required = BooleanField(_l("Обязательное"))


class ServiceForm(Form):
    name = StringField(_l("Название организации"))
    inn = StringField(_l("ИНН"))
    kpp = StringField(_l("КПП"))
    account = StringField(_l("Расчётный счёт"))
    bik = StringField(_l("БИК"))
    bank_name = StringField(_l("Банк"))
    corr_account = StringField(_l("Корр. счёт"))
    recipient = StringField(_l("Получатель"))
    display_name = StringField(_l("Название услуги в кабинете"),
                               validators=[InputRequired(_l("Укажите название")), Length(max=199)])
    title = StringField(_l("Услуга (как в счете)"),
                        validators=[InputRequired(_l("Укажите услугу")), Length(max=200)])
    category = StringField(_l("Категория"), default="Прочие", validators=[Length(max=100)])
    vat = ChoiceField(_l("НДС"), choices=list(positions.VAT_LABELS.items()), default="none")
    percent = StringField(_l("Комиссия, %"), default="0")
    minimum = StringField(_l("Минимум комиссии, руб."), default="0")
    maximum = StringField(_l("Максимум комиссии, руб."))
    fields = FieldList(FormField(RequisiteFieldForm), min_entries=ROWS, max_entries=ROWS)
    key = RadioField(_l("Ключевой реквизит"), choices=[(str(i), str(i + 1)) for i in range(ROWS)],
                     validate_choice=False)

    cleaned = None

    def validate(self, extra_validators=None):
        """Every field checked at once; .cleaned holds (organisation, service) when all is well."""
        ok = super().validate(extra_validators)
        try:
            organisation = requisites.clean_organisation({n: getattr(self, n).data for n in ORGANISATION_FIELDS})
        except requisites.OrganisationErrors as exc:
            for name, message in exc.errors.items():
                getattr(self, name).errors.append(str(message))
            ok = False
        commission = self._commission()
        fields = self._requisite_fields()
        if ok and commission is not None and fields is not None:
            self.cleaned = organisation, {"display_name": self.display_name.data, "title": self.title.data,
                                          "category": self.category.data or "Прочие", "fields": fields,
                                          "vat": self.vat.data, **commission}
            return True
        return False

    def _commission(self):
        """The commission rule, checked as add-service checks it; the message goes beside its field."""
        try:
            return catalog.clean_commission(self.percent.data, self.minimum.data, self.maximum.data)
        except catalog.CommissionError as exc:
            field = {"percent": self.percent, "min": self.minimum, "max": self.maximum}[exc.field]
            field.errors.append(str(exc))
            return None

    def _requisite_fields(self):
        """The filled rows as the service's field list, keeping existing names for existing rows."""
        rows = [(i, entry.form) for i, entry in enumerate(self.fields) if entry.form.label.data]
        if not rows:
            self.key.errors.append(_("Добавьте хотя бы одно поле реквизитов"))
            return None
        if self.key.data not in {str(i) for i, _form in rows}:
            self.key.errors.append(_("Отметьте ключевой реквизит среди заполненных полей: по нему ищут счета"))
            return None
        names = getattr(self, "existing_names", [])
        spec = [{"name": names[i] if i < len(names) else f"field{i + 1}", "label": form.label.data,
                 "kind": form.kind.data, "required": form.required.data, "key": str(i) == self.key.data}
                for i, form in rows]
        try:
            return catalog.clean_fields(spec)
        except catalog.SpecError:
            self.key.errors.append(_("Поля реквизитов заполнены неверно: проверьте названия и типы"))
            return None

    def fill_from(self, service):
        """Show a stored service in the form."""
        for name in ORGANISATION_FIELDS:
            getattr(self, name).data = getattr(service.organisation, name)
        self.display_name.data, self.title.data, self.category.data, self.vat.data = (
            service.display_name, service.title, service.category, service.vat)
        self.percent.data = money.bp_to_percent(service.commission_bp)
        self.minimum.data = plain_rubles(service.commission_min_kop)
        self.maximum.data = plain_rubles(service.commission_max_kop) if service.commission_max_kop else ""
        for entry, field in zip(self.fields, service.fields):
            entry.form.label.data, entry.form.kind.data, entry.form.required.data = (
                field["label"], field["kind"], field["required"])
        self.key.data = str(next(i for i, f in enumerate(service.fields) if f["key"]))
