"""«Настройки» → «API» (owner only): keys of the merchant API, each shown once when made, and
«Отозвать», which stops a key at once."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField, ValidationError

from ..domain import api_keys
from ..forms import Form
from ..models import ApiKey
from .access import actor, current_merchant, requires

bp = Blueprint("api_keys", __name__, url_prefix="/settings/api")


class KeyForm(Form):
    name = StringField(_l("Название ключа"))

    def validate_name(self, field):
        try:
            field.data = api_keys.clean_name(field.data)
        except api_keys.KeyNameError as exc:
            raise ValidationError(str(exc)) from exc


def page(form, new_key=None, status=200):
    return render_template("api_keys/index.html", form=form, keys=list(ApiKey.of(current_merchant)),
                           new_key=new_key), status


@bp.route("", methods=["GET", "POST"])
@requires("api")
def index():
    """The keys and «Создать ключ»; a new key is on this answer only, never stored or shown again."""
    form = KeyForm()
    if not form.validate_on_submit():
        return page(form, status=422 if form.errors else 200)
    row, key = api_keys.create(current_merchant, form.name.data, actor())
    return page(KeyForm(formdata=None), new_key=(row, key))


@bp.post("/<int:key_id>/revoke")
@requires("api")
def revoke(key_id):
    """«Отозвать» after a confirmation: requests with the key are refused from then on."""
    row = ApiKey.of(current_merchant).where(ApiKey.id == key_id, ApiKey.revoked_at.is_null()).first()
    if row is None:
        abort(404)
    if request.form.get("confirm") != "1":
        return render_template("core/confirm.html", question=_("Отозвать ключ «%(name)s»?", name=row.name),
                               consequence=_("Запросы с этим ключом сразу перестанут приниматься. "
                                             "Отзыв нельзя вернуть: понадобится новый ключ."),
                               action=url_for("api_keys.revoke", key_id=row.id), yes=_("Отозвать"),
                               no=_("Не отзывать"), back=url_for("api_keys.index"))
    api_keys.revoke(current_merchant, row.id)
    flash(_("Ключ «%(name)s» отозван", name=row.name), "success")
    return redirect(url_for("api_keys.index"), 303)
