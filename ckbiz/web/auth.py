"""Accounts (§3, §8): login, logout, registration, password change, and «Вспомнить пароль»."""
from urllib.parse import urlsplit

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from .. import tasks
from ..domain import accounts, guards, sessions, team
from ..extensions import login as login_manager
from ..forms import Form, PhoneField, email_address, password_length
from .access import requires

bp = Blueprint("auth", __name__)
HOUR = guards.HOUR

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Войдите в личный кабинет, чтобы продолжить")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(token):
    """The user of the live session this cookie's token names (an ended session finds nobody)."""
    row = sessions.find(token)
    if row is None or not row.user.is_active:
        return None
    user = row.user
    user.session, user.session_token = row, token
    return user


class LoginForm(Form):
    phone = PhoneField(_l("Телефон"), validators=[InputRequired(_l("Укажите номер телефона"))])
    password = PasswordField(_l("Пароль"), validators=[InputRequired(_l("Введите пароль"))])
    # Shown only once the phone is past LOGIN_ATTEMPTS_PER_HOUR failed logins.
    captcha = StringField(_l("Введите код с картинки"))


class PhoneCaptchaForm(Form):
    """A phone behind the image captcha: «Вспомнить пароль» and the first step of registration."""

    phone = PhoneField(_l("Телефон"), validators=[InputRequired(_l("Укажите номер телефона"))])
    captcha = StringField(_l("Введите код с картинки"), validators=[InputRequired(_l("Введите код с картинки"))])


class RegisterForm(Form):
    code = StringField(_l("Код из СМС"), validators=[InputRequired(_l("Введите код из СМС"))])
    name = StringField(_l("Название организации или ваше имя"),
                       validators=[Length(max=200)])
    email = EmailField(_l("Эл. адрес"), validators=[Length(max=254), email_address])
    password = PasswordField(_l("Пароль"), validators=[InputRequired(), password_length])
    confirm = PasswordField(_l("Пароль ещё раз"),
                            validators=[EqualTo("password", _l("Пароли не совпадают"))])


class PasswordForm(Form):
    current = PasswordField(_l("Текущий пароль"), validators=[InputRequired(_l("Введите текущий пароль"))])
    password = PasswordField(_l("Новый пароль"), validators=[InputRequired(), password_length])
    confirm = PasswordField(_l("Новый пароль ещё раз"),
                            validators=[EqualTo("password", _l("Пароли не совпадают"))])


def client_address():
    """The caller's address (ProxyFix makes it the real one behind nginx)."""
    return request.remote_addr or "unknown"


def safe_next(target):
    """The target when it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def start_session(user):
    """Log the user in on a new server-side session and a fresh cookie, so a cookie from
    before is worth nothing. A session this browser had is ended, not left behind."""
    if current_user.is_authenticated:
        sessions.end(current_user.session.id, [current_user.id])
    session.clear()
    user.session, user.session_token = sessions.open_session(user, client_address(), request.user_agent.string)
    login_user(user)
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
def login():
    """«Вход в Личный кабинет»: phone and password; one answer for every failure.

    Failed logins are counted per phone and per address. Past the address's limit every login
    from there is refused for the hour. Past the phone's limit, which a stranger can reach,
    its password is checked only with a solved captcha (the owner can solve it) and a valid
    temporary password from «Вспомнить пароль» always gets in. Counters exist for unknown
    phones as for known ones, so neither answer tells whether a phone is registered.
    """
    form = LoginForm()
    captcha_needed = False
    if form.validate_on_submit():
        phone, address = form.phone.phone, client_address()
        config = current_app.config
        if guards.hits("login-ip", address, HOUR) >= config["LOGIN_ATTEMPTS_PER_ADDRESS_PER_HOUR"]:
            form.password.errors.append(_("Слишком много неудачных попыток входа. Попробуйте через час "
                                          "или восстановите пароль."))
        else:
            captcha_needed = guards.hits("login-phone", phone, HOUR) >= config["LOGIN_ATTEMPTS_PER_HOUR"]
            solved = captcha_needed and guards.captcha_solved(session.pop("captcha", None), form.captcha.data)
            user = accounts.authenticate(phone, form.password.data, temporary_only=captcha_needed and not solved)
            if user is not None:
                start_session(user)
                target = url_for("auth.password") if user.must_change_password else None
                return redirect(target or safe_next(request.args.get("next")) or url_for("core.index"), 303)
            guards.hit("login-ip", address, HOUR)
            if captcha_needed and not solved:
                form.captcha.errors.append(_("Для этого номера было много неудачных попыток входа: "
                                             "введите код с картинки."))
            else:
                form.password.errors.append(_("Неверный телефон или пароль"))
            # The next attempt shows the captcha as soon as this one reached the limit.
            captcha_needed = guards.hit("login-phone", phone, HOUR) >= config["LOGIN_ATTEMPTS_PER_HOUR"]
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form, captcha_needed=captcha_needed,
                           registration=current_app.config["REGISTRATION"] == "open"), status


@bp.post("/logout")
def logout():
    """End this session for good (its row goes, so a copy of the cookie is worth nothing);
    the user's other sessions, on other devices, go on."""
    if current_user.is_authenticated:
        sessions.end(current_user.session.id, [current_user.id])
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), 303)


@bp.route("/register", methods=["GET", "POST"])
def register():
    """«Зарегистрироваться», only where the operator opened it: phone + captcha, then the SMS code."""
    if current_app.config["REGISTRATION"] != "open":
        abort(404)
    if request.args.get("again"):
        session.pop("register_phone", None)
    phone = session.get("register_phone")
    if request.method == "POST" and request.form.get("step") == "phone" or not phone:
        return _register_phone()
    form = RegisterForm()
    if form.validate_on_submit():
        user = accounts.register(phone, form.code.data, form.password.data, form.name.data or "", form.email.data)
        if user is not None:
            start_session(user)
            return redirect(url_for("core.index"), 303)
        form.code.errors.append(_("Код неверный или устарел. Запросите новый."))
    return render_template("auth/register.html", form=form, phone=phone), 422 if form.errors else 200


def _register_phone():
    """Step one: the phone, behind the captcha and the limits recovery uses."""
    form = PhoneCaptchaForm()
    if form.validate_on_submit() and passes_captcha_and_limits(form, "register",
                                                                _("Слишком много попыток. Попробуйте позже.")):
        tasks.send(accounts.request_registration_code(form.phone.phone))
        session["register_phone"] = form.phone.phone
        flash(_("Мы отправили СМС на этот номер. Введите код из него."), "info")
        return redirect(url_for("auth.register"), 303)
    return render_template("auth/register_phone.html", form=form), 422 if form.errors else 200


@bp.route("/password", methods=["GET", "POST"])
@requires("account")
def password():
    """Change the password: the current one is required (not right after a temporary one)."""
    form = PasswordForm()
    if current_user.must_change_password:
        del form.current
    if form.validate_on_submit():
        if "current" in form and accounts.authenticate(current_user.phone, form.current.data) is None:
            form.current.errors.append(_("Текущий пароль введён неверно"))
        else:
            tasks.send(accounts.set_password(current_user, form.password.data, keep=current_user.session))
            flash(_("Пароль изменён. Другие сеансы завершены."), "success")
            return redirect(url_for("auth.password"), 303)
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


@bp.before_app_request
def insist_on_a_new_password():
    """After logging in with a temporary password, the only page is the password change."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in ("auth.password", "auth.logout", "static")):
        flash(_("Вы вошли по временному паролю: задайте свой пароль."), "info")
        return redirect(url_for("auth.password"))
    return None


@bp.get("/captcha.png")
def captcha_image():
    """A fresh captcha; only its key goes into the session, never the answer."""
    if not guards.captcha_allowed(client_address()):
        return Response(_("Слишком много картинок с кодом с вашего адреса. Попробуйте через час."), 429,
                        {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "3600"})
    key, image = guards.new_captcha(session.get("captcha"))
    session["captcha"] = key
    return Response(image, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/recover", methods=["GET", "POST"])
def recover():
    """The same answer whether or not the phone is registered; SMS only past every check."""
    form = PhoneCaptchaForm()
    sent = False
    if form.validate_on_submit() and passes_captcha_and_limits(
            form, "recover", _("Слишком много попыток восстановления. Попробуйте позже.")):
        tasks.send(accounts.request_temporary_password(form.phone.phone))
        sent = True
        form.captcha.data = ""
    status = 422 if form.errors else 200
    return render_template("auth/recover.html", form=form, sent=sent), status


def passes_captcha_and_limits(form, purpose, too_many):
    """The captcha (spent either way), then the SMS limits; a refusal is a message on its field."""
    if not guards.captcha_solved(session.pop("captcha", None), form.captcha.data):
        form.captcha.errors.append(_("Код с картинки введен неверно. Введите новый код."))
        return False
    if not guards.sms_allowed(purpose, form.phone.phone, client_address()):
        form.phone.errors.append(too_many)
        return False
    return True


class InvitationForm(Form):
    name = StringField(_l("Ваше имя"), validators=[Length(max=200)])
    password = PasswordField(_l("Пароль"), validators=[InputRequired(), password_length])
    confirm = PasswordField(_l("Пароль ещё раз"), validators=[EqualTo("password", _l("Пароли не совпадают"))])


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token):
    """The one-time link of an invitation SMS: the invitee sets a password and is logged in."""
    user = team.invited_user(token)
    if user is None:
        return render_template("auth/invitation_gone.html"), 404
    form = InvitationForm(data={"name": user.name} if request.method == "GET" else None)
    if form.validate_on_submit():
        if not team.accept(user, form.name.data, form.password.data):
            return render_template("auth/invitation_gone.html"), 404
        start_session(accounts.user_by_phone(user.phone))
        flash(_("Добро пожаловать в кабинет «%(m)s»", m=user.merchant.name), "success")
        return redirect(url_for("core.index"), 303)
    return render_template("auth/invitation.html", form=form, user=user), 422 if form.errors else 200
