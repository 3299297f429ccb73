"""«Сотрудники» and «Сеансы» (under «Настройки»): the owner invites users, changes their roles,
removes them; every user sees where they are logged in and ends any of those sessions."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from .. import formatting, tasks
from ..database import utcnow
from ..domain import roles, sessions, team
from ..domain.accounts import AccountError
from ..forms import ChoiceField, Form, PhoneField
from ..models import User
from .access import current_merchant, requires

bp = Blueprint("team", __name__, url_prefix="/settings")
ROLE_CHOICES = [(role, label) for role, label in roles.ROLES.items()]


class InviteForm(Form):
    phone = PhoneField(_l("Телефон"), validators=[InputRequired(_l("Укажите номер телефона"))])
    name = StringField(_l("Имя"), validators=[InputRequired(_l("Укажите имя сотрудника")),
                                                              Length(max=200)])
    role = ChoiceField(_l("Роль"), choices=ROLE_CHOICES, default=roles.ACCOUNTANT)


class RoleForm(Form):
    role = ChoiceField(_l("Роль"), choices=ROLE_CHOICES)


def get_user(user_id):
    """One of the current merchant's users; 404 for anyone else's."""
    user = User.of(current_merchant).where(User.id == user_id).first()
    if user is None:
        abort(404)
    return user


@bp.route("/team", methods=["GET", "POST"])
@requires("team")
def index():
    """The team and «Пригласить»: an invitation SMS with a one-time link to set a password."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user, rows = team.invite(current_merchant, form.phone.phone, form.name.data, form.role.data)
        except AccountError as exc:
            form.phone.errors.append(str(exc))
        else:
            tasks.send(rows)
            flash(_("Приглашение отправлено на %(phone)s", phone=formatting.phone(user.phone)), "success")
            return redirect(url_for("team.index"), 303)
    return render_template("team/index.html", form=form, users=list(User.of(current_merchant)), now=utcnow(),
                           role_form=RoleForm), 422 if form.errors else 200


@bp.post("/team/<int:user_id>/role")
@requires("team")
def role(user_id):
    """Give a user another role; the last owner stays one."""
    user, form = get_user(user_id), RoleForm()
    if form.validate():
        try:
            team.change_role(current_merchant, user.id, form.role.data)
        except AccountError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Роль сотрудника %(name)s: %(role)s", name=user.name, role=roles.ROLES[form.role.data]),
                  "success")
    return redirect(url_for("team.index"), 303)


@bp.post("/team/<int:user_id>/remove")
@requires("team")
def remove(user_id):
    """Remove a user after a confirmation; their sessions end at once. Not the last owner."""
    user = get_user(user_id)
    if request.form.get("confirm") != "1":
        return render_template("core/confirm.html", question=_("Удалить сотрудника %(name)s?", name=user.name),
                               consequence=_("Он больше не сможет войти в кабинет, его сеансы завершатся сразу. "
                                             "Выставленные им счета останутся."),
                               action=url_for("team.remove", user_id=user.id), yes=_("Удалить"),
                               no=_("Не удалять"), back=url_for("team.index"))
    try:
        team.remove(current_merchant, user.id)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Сотрудник %(name)s удален, его сеансы завершены", name=user.name), "success")
    return redirect(url_for("team.index"), 303)


def visible_users():
    """Whose sessions the user sees and may end: their own; an owner, the whole team's."""
    if roles.can(current_user.role, "team"):
        return [user_id for user_id, in User.of(current_merchant).select(User.id).tuples()]
    return [current_user.id]


@bp.get("/sessions")
@requires("account")
def sessions_list():
    """«Сеансы»: device, address, login and last use of every session, with «Завершить»."""
    return render_template("team/sessions.html", sessions=sessions.of_users(visible_users()),
                           current=current_user.session.id)


@bp.post("/sessions/<int:session_id>/end")
@requires("account")
def end_session(session_id):
    """«Завершить»: that session's cookie stops working at once."""
    if session_id == current_user.session.id or not sessions.end(session_id, visible_users()):
        abort(404)
    flash(_("Сеанс завершен"), "success")
    return redirect(url_for("team.sessions_list"), 303)


@bp.post("/sessions/end-others")
@requires("account")
def end_others():
    """«Завершить все остальные»: every session of the user but this one."""
    count = sessions.end_others(current_user, current_user.session)
    flash(_("Завершено сеансов: %(n)d", n=count), "success")
    return redirect(url_for("team.sessions_list"), 303)
