"""«Настройки» (§7): the merchant's main data and its services' names."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, StringField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length

from .. import htmx
from ..domain import catalog, receipts
from ..forms import ChoiceField, Form, email_address
from ..models import Merchant, Service
from .access import current_merchant, get_service, requires
from .service_form import ServiceForm

bp = Blueprint("settings", __name__, url_prefix="/settings")

# Russia's eleven zones, west to east, as merchants name them.
TIMEZONES = (
    ("Europe/Kaliningrad", _l("Калининград (МСК−1)")), ("Europe/Moscow", _l("Москва (МСК)")),
    ("Europe/Samara", _l("Самара (МСК+1)")), ("Asia/Yekaterinburg", _l("Екатеринбург (МСК+2)")),
    ("Asia/Omsk", _l("Омск (МСК+3)")), ("Asia/Novosibirsk", _l("Новосибирск (МСК+4)")),
    ("Asia/Irkutsk", _l("Иркутск (МСК+5)")), ("Asia/Yakutsk", _l("Якутск (МСК+6)")),
    ("Asia/Vladivostok", _l("Владивосток (МСК+7)")), ("Asia/Magadan", _l("Магадан (МСК+8)")),
    ("Asia/Kamchatka", _l("Камчатка (МСК+9)")),
)
MAX_NAME = 199


class MainForm(Form):
    default_validity_hours = IntegerField(_l("Срок действия счета по умолчанию, часов"),
                                          validators=[InputRequired(_l("Укажите срок в часах"))])
    copy_invoices = BooleanField(_l("Дублировать счета на почту"))
    copy_email = EmailField(_l("Адрес для копий счетов"), validators=[Length(max=254), email_address])
    attach_pdf = BooleanField(_l("Прикладывать PDF к письму"))
    email = EmailField(_l("Эл. адрес для уведомлений об оплате"), validators=[Length(max=254), email_address])
    timezone = ChoiceField(_l("Часовой пояс"), choices=list(TIMEZONES))
    tax_system = ChoiceField(_l("Система налогообложения"), choices=list(receipts.TAX_SYSTEMS.items()), default="osn")

    def validate_default_validity_hours(self, field):
        maximum = int(current_app.config["MAX_VALIDITY_HOURS"])
        if field.data is not None and not 1 <= field.data <= maximum:
            raise ValidationError(_("От 1 до %(max)d часов", max=maximum))

    def validate_copy_email(self, field):
        if self.copy_invoices.data and not field.data:
            raise ValidationError(_l("Укажите адрес, на который дублировать счета"))


class RenameForm(Form):
    name = StringField(_l("Название услуги"), validators=[
        DataRequired(_l("Название не может быть пустым")),
        Length(max=MAX_NAME, message=_l("Не длиннее 199 символов"))])



@bp.route("", methods=["GET", "POST"])
@requires("settings")
def index():
    """«Основные данные» (§7.2)."""
    merchant = current_merchant
    form = MainForm(obj=merchant if request.method == "GET" else None)
    if request.method == "GET":
        form.default_validity_hours.data = (merchant.default_validity_hours
                                            or current_app.config["DEFAULT_VALIDITY_HOURS"])
        form.timezone.data = merchant.timezone or current_app.config["DEFAULT_TIMEZONE"]
        form.tax_system.data = merchant.tax_system or "osn"
    if form.validate_on_submit():
        Merchant.update(default_validity_hours=form.default_validity_hours.data,
                        copy_invoices=form.copy_invoices.data, copy_email=form.copy_email.data,
                        attach_pdf=form.attach_pdf.data, email=form.email.data, timezone=form.timezone.data,
                        tax_system=form.tax_system.data).where(
            Merchant.id == merchant.id).execute()
        flash(_("Настройки сохранены"), "success")
        return redirect(url_for("settings.index"), 303)
    return render_template("settings/index.html", form=form), 422 if form.errors else 200



@bp.get("/services")
@requires("settings")
def services():
    """«Услуги» (§7.4): the merchant's services with their organisation and ИНН."""
    return render_template("settings/services.html", services=catalog.services_of(current_merchant))


@bp.route("/services/<int:service_id>/rename", methods=["GET", "POST"])
@requires("settings")
def rename(service_id):
    """The pencil's dialog (§7.4.2): a new display name, «Изменить» or «Отмена»."""
    service = get_service(service_id)
    form = RenameForm(data={"name": service.display_name} if request.method == "GET" else None)
    if form.validate_on_submit():
        Service.update(display_name=form.name.data).where(Service.id == service.id).execute()
        service.display_name = form.name.data
        if htmx.is_htmx():
            return render_template("settings/_service_row.html", service=service, oob=True)
        flash(_("Услуга переименована"), "success")
        return redirect(url_for("settings.services"), 303)
    status = 422 if form.errors else 200
    if htmx.target() in ("dialog-slot", "rename-dialog"):
        return render_template("settings/_rename_dialog.html", form=form, service=service), status
    return render_template("settings/rename.html", form=form, service=service), status


def own_services_allowed():
    """Whether the operator lets merchants add and edit their own services."""
    return current_app.config["MERCHANT_SERVICES"] == "self"


@bp.route("/services/new", methods=["GET", "POST"])
@requires("settings")
def new_service():
    """A new payee organisation and service of the merchant's own."""
    if not own_services_allowed():
        abort(404)
    form = ServiceForm()
    if form.validate_on_submit():
        service = catalog.save_service(current_merchant.id, *form.cleaned)
        flash(_("Услуга «%(name)s» добавлена", name=service.display_name), "success")
        return redirect(url_for("settings.services"), 303)
    return render_template("settings/service_form.html", form=form, service=None), 422 if form.errors else 200


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@requires("settings")
def edit_service(service_id):
    """Edit a service; invoices already issued keep what they were issued with."""
    if not own_services_allowed():
        abort(404)
    service = get_service(service_id)
    form = ServiceForm()
    form.existing_names = [field["name"] for field in service.fields]
    if request.method == "GET":
        form.fill_from(service)
    if form.validate_on_submit():
        catalog.save_service(current_merchant.id, *form.cleaned, existing=service)
        flash(_("Услуга «%(name)s» сохранена", name=form.display_name.data), "success")
        return redirect(url_for("settings.services"), 303)
    return render_template("settings/service_form.html", form=form, service=service), 422 if form.errors else 200
