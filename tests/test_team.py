"""«Сотрудники» and «Сеансы»: invitations by SMS, the last owner, who did what, sessions on the server."""
import csv
import io
import re
from datetime import timedelta

from ckbiz import tasks
from ckbiz.database import utcnow
from ckbiz.extensions import db
from ckbiz.models import Delivery, User, UserSession
from conftest import PASSWORD, PHONE, AuthActions, csrf_token, sms_lines
from factories import make_invoice, other_merchant, team_member, user_with_phone

INVITE = re.compile(r"http://ckbiz\.test/invite/([A-Za-z0-9_-]+)")


def invite(client, phone="9165550101", name="Иванова Анна", role="accountant"):
    """«Пригласить» as the owner fills it in."""
    token = csrf_token(client, "/settings/team")
    return client.post("/settings/team", data={"csrf_token": token, "phone": phone, "name": name, "role": role})


def invitation_link(app, phone="9165550101"):
    """The newest invitation link the console SMS backend sent to the phone."""
    lines = [line for line in sms_lines(app) if f"+7{phone}" in line and "/invite/" in line]
    assert lines, sms_lines(app)
    return "/invite/" + INVITE.search(lines[-1]).group(1)


def accept(app, link, password="colleague password", name="Иванова Анна"):
    """The invitee opens the link in a browser of their own and sets a password."""
    invitee = app.test_client()
    token = csrf_token(invitee, link)
    response = invitee.post(link, data={"csrf_token": token, "name": name, "password": password,
                                        "confirm": password})
    return invitee, response


def test_an_invited_user_sets_a_password_by_the_sms_link_and_works_in_their_role(app, logged_in, merchant):
    response = invite(logged_in)
    assert response.status_code == 303
    assert "Приглашение отправлено" in logged_in.get("/settings/team").get_data(as_text=True)
    link = invitation_link(app)
    with app.app_context(), db.connection_context():
        user = user_with_phone("9165550101")
        assert user.password_hash is None and user.invite_hash and link.rsplit("/", 1)[1] not in user.invite_hash
    invitee, answer = accept(app, link)
    assert answer.status_code == 303
    assert invitee.get("/invoices/new").status_code == 200
    assert invitee.get("/settings").status_code == 403
    # The link was good once.
    again = app.test_client().get(link)
    assert again.status_code == 404 and "Приглашение недействительно" in again.get_data(as_text=True)
    assert AuthActions(app.test_client()).login("9165550101", "colleague password").status_code == 303


def test_an_expired_invitation_is_refused_and_a_new_one_replaces_it(app, logged_in, merchant):
    invite(logged_in)
    old = invitation_link(app)
    with app.app_context(), db.connection_context():
        User.update(invite_expires_at=utcnow() - timedelta(minutes=1)).where(User.phone == "9165550101").execute()
    assert app.test_client().get(old).status_code == 404
    assert "приглашение истекло" in logged_in.get("/settings/team").get_data(as_text=True)
    assert invite(logged_in).status_code == 303
    new = invitation_link(app)
    assert new != old and app.test_client().get(old).status_code == 404
    assert accept(app, new)[1].status_code == 303


def test_a_phone_that_already_has_an_account_cannot_be_invited(app, logged_in, merchant):
    other_merchant(app)
    with app.app_context(), db.connection_context():
        before = User.select().count(), Delivery.select().count()
    for phone in (PHONE, "9037778899"):
        response = invite(logged_in, phone=phone)
        assert response.status_code == 422
        assert "уже есть учетная запись" in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert (User.select().count(), Delivery.select().count()) == before


def test_the_last_owner_can_be_neither_demoted_nor_removed(app, logged_in, merchant):
    with app.app_context(), db.connection_context():
        me = user_with_phone(PHONE).id
    token = csrf_token(logged_in, "/settings/team")
    demoted = logged_in.post(f"/settings/team/{me}/role", data={"csrf_token": token, "role": "accountant"},
                             follow_redirects=True)
    assert "хотя бы один владелец" in demoted.get_data(as_text=True)
    removed = logged_in.post(f"/settings/team/{me}/remove", data={"csrf_token": token, "confirm": "1"},
                             follow_redirects=True)
    assert "хотя бы один владелец" in removed.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert user_with_phone(PHONE).role == "owner"
    # With a second owner, the first may step down.
    second = team_member(app, merchant, "9165550505", "owner")
    assert logged_in.post(f"/settings/team/{me}/role", data={"csrf_token": token, "role": "accountant"}
                          ).status_code == 303
    with app.app_context(), db.connection_context():
        assert user_with_phone(PHONE).role == "accountant" and User.get_by_id(second.id).role == "owner"


def test_a_removed_user_is_logged_out_at_once(app, logged_in, merchant):
    colleague = team_member(app, merchant, "9165550606", "accountant")
    other = app.test_client()
    assert AuthActions(other).login("9165550606", "member password").status_code == 303
    assert other.get("/invoices").status_code == 200
    token = csrf_token(logged_in, "/settings/team")
    confirm = logged_in.post(f"/settings/team/{colleague.id}/remove", data={"csrf_token": token})
    assert "Удалить сотрудника" in confirm.get_data(as_text=True)
    assert logged_in.post(f"/settings/team/{colleague.id}/remove",
                          data={"csrf_token": token, "confirm": "1"}).status_code == 303
    assert other.get("/invoices").status_code == 302


def test_events_and_the_csv_name_who_did_it(app, merchant):
    colleague = app.test_client()
    team_member(app, merchant, "9165550707", "accountant", name="Иванова Анна")
    assert AuthActions(colleague).login("9165550707", "member password").status_code == 303
    invoice = make_invoice(app, merchant)
    token = csrf_token(colleague, "/invoices")
    assert colleague.post(f"/invoices/{invoice.number}/cancel", data={"csrf_token": token, "confirm": "1"}
                          ).status_code == 303
    dialog = colleague.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert re.search(r"Иванова А\.:</span> отменен", dialog)
    rows = list(csv.DictReader(io.StringIO(colleague.get("/invoices.csv").get_data(as_text=True).lstrip("\ufeff")),
                               delimiter=";"))
    assert rows[0]["Статус изменил"] == "Иванова А."


def test_logging_out_in_one_browser_leaves_the_other_logged_in(app, merchant):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        assert AuthActions(client).login().status_code == 303
    assert AuthActions(first).logout().status_code == 303
    assert first.get("/invoices").status_code == 302
    assert second.get("/invoices").status_code == 200


def test_the_sessions_page_lists_and_ends_sessions(app, merchant):
    here, there = app.test_client(), app.test_client()
    assert AuthActions(here).login().status_code == 303
    assert AuthActions(there).login().status_code == 303
    page = here.get("/settings/sessions").get_data(as_text=True)
    assert page.count("Завершить</button>") == 1 and "этот сеанс" in page
    with app.app_context(), db.connection_context():
        other = UserSession.select().order_by(UserSession.id.desc()).first()
    token = csrf_token(here, "/settings/sessions")
    assert here.post(f"/settings/sessions/{other.id}/end", data={"csrf_token": token}).status_code == 303
    assert there.get("/invoices").status_code == 302 and here.get("/invoices").status_code == 200
    # «Завершить все остальные».
    third = app.test_client()
    assert AuthActions(third).login().status_code == 303
    assert here.post("/settings/sessions/end-others", data={"csrf_token": token}).status_code == 303
    assert third.get("/invoices").status_code == 302 and here.get("/invoices").status_code == 200


def test_the_owner_sees_and_ends_the_teams_sessions_a_colleague_only_their_own(app, logged_in, merchant):
    team_member(app, merchant, "9165550808", "accountant", name="Кузнецова Мария")
    colleague = app.test_client()
    assert AuthActions(colleague).login("9165550808", "member password").status_code == 303
    assert "Кузнецова Мария" in logged_in.get("/settings/sessions").get_data(as_text=True)
    with app.app_context(), db.connection_context():
        mine = UserSession.get(UserSession.user == user_with_phone(PHONE).id)
        theirs = UserSession.get(UserSession.user == user_with_phone("9165550808").id)
    token = csrf_token(colleague, "/settings/sessions")
    assert colleague.post(f"/settings/sessions/{mine.id}/end", data={"csrf_token": token}).status_code == 404
    assert logged_in.get("/invoices").status_code == 200
    token = csrf_token(logged_in, "/settings/sessions")
    assert logged_in.post(f"/settings/sessions/{theirs.id}/end", data={"csrf_token": token}).status_code == 303
    assert colleague.get("/invoices").status_code == 302


def test_a_password_change_ends_the_users_other_sessions_only(app, merchant):
    here, there = app.test_client(), app.test_client()
    team_member(app, merchant, "9165550909", "accountant")
    colleague = app.test_client()
    for client, phone, password in ((here, PHONE, PASSWORD), (there, PHONE, PASSWORD),
                                    (colleague, "9165550909", "member password")):
        assert AuthActions(client).login(phone, password).status_code == 303
    token = csrf_token(here, "/password")
    assert here.post("/password", data={"csrf_token": token, "current": PASSWORD, "password": "another password",
                                        "confirm": "another password"}).status_code == 303
    assert here.get("/invoices").status_code == 200
    assert there.get("/invoices").status_code == 302
    assert colleague.get("/invoices").status_code == 200


def test_idle_and_old_sessions_end(app, merchant):
    idle, old = app.test_client(), app.test_client()
    for client in (idle, old):
        assert AuthActions(client).login().status_code == 303
    with app.app_context(), db.connection_context():
        first, second = UserSession.select().order_by(UserSession.id)
        UserSession.update(last_seen_at=utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)).where(
            UserSession.id == first.id).execute()
        UserSession.update(created_at=utcnow() - timedelta(days=app.config["SESSION_MAX_DAYS"], minutes=1)).where(
            UserSession.id == second.id).execute()
    assert idle.get("/invoices").status_code == 302
    assert old.get("/invoices").status_code == 302
    with app.app_context(), db.connection_context():
        assert UserSession.select().count() == 0


def test_the_sweep_forgets_sessions_nobody_comes_back_to(app, merchant):
    """An abandoned browser never presents its cookie again: the periodic sweep ends its session."""
    for _ in range(2):
        assert AuthActions(app.test_client()).login().status_code == 303
    with app.app_context(), db.connection_context():
        first = UserSession.select().order_by(UserSession.id).first()
        UserSession.update(last_seen_at=utcnow() - timedelta(days=1)).where(UserSession.id == first.id).execute()
        tasks.sweep_deliveries.call_local()
        assert [s.id for s in UserSession.select()] != [] and first.id not in [s.id for s in UserSession.select()]


def test_logging_in_again_in_the_same_browser_ends_the_session_it_had(app, merchant):
    client = app.test_client()
    for _ in range(2):
        assert AuthActions(client).login().status_code == 303
    with app.app_context(), db.connection_context():
        assert UserSession.select().count() == 1


def test_a_session_remembers_device_and_address_and_is_touched_at_most_once_a_minute(app, merchant):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"csrf_token": token, "phone": PHONE, "password": PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                       "(KHTML, like Gecko) Chrome/131.0 Safari/537.36"})
    with app.app_context(), db.connection_context():
        row = UserSession.get()
        seen = row.last_seen_at
    client.get("/invoices")
    with app.app_context(), db.connection_context():
        assert UserSession.get().last_seen_at == seen
        UserSession.update(last_seen_at=seen - timedelta(minutes=2)).execute()
    client.get("/invoices")
    with app.app_context(), db.connection_context():
        assert UserSession.get().last_seen_at > seen - timedelta(minutes=2)
    page = client.get("/settings/sessions").get_data(as_text=True)
    assert "Chrome, Windows" in page and "127.0.0.1" in page
