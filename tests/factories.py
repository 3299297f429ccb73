"""Test data made through the real domain code."""
from datetime import timedelta

from ckbiz import demo, tasks
from ckbiz.database import utcnow
from ckbiz.domain import invoicing, statements, team
from ckbiz.extensions import db
from ckbiz.models import Invoice, Merchant, Service, StatementLine, User
from statement_files import Payment, statement_file


def make_invoice(app, merchant, key="34234234", amount_kop=20000, phone="9026376577",
                 email="payer@example.com", hours=72, positions=(), payer_org=None, **changes):
    """Issue an invoice for the merchant's first service; `changes` are written afterwards.

    positions are stored dicts (domain.positions.clean_positions makes them from typed rows)."""
    with app.app_context(), db.connection_context():
        merchant = Merchant.get_by_id(merchant.id)
        service = Service.of(merchant).first()
        requisites = [{"name": f["name"], "label": f["label"], "key": f["key"],
                       "value": key if f["key"] else "x"} for f in service.fields]
        invoice, rows = invoicing.issue_invoice(
            merchant, service, payer_phone=phone, payer_email=email, requisites=requisites,
            comment="", amount_kop=amount_kop, validity_hours=hours, actor="", positions=positions,
            payer_org=payer_org)
        tasks.send(rows)
        if changes:
            Invoice.update(**changes).where(Invoice.id == invoice.id).execute()
        return Invoice.get_by_id(invoice.id)


def other_merchant(app, phone="9037778899", password="other password"):
    """A second merchant with its own demo services."""
    with app.app_context(), db.connection_context():
        return demo.ensure_merchant(phone, password, name="Другой")[0]


def overdue(app, invoice):
    """Move an invoice's expiry into the past without changing its status."""
    with app.app_context(), db.connection_context():
        Invoice.update(expires_at=utcnow() - timedelta(minutes=1)).where(Invoice.id == invoice.id).execute()


def team_member(app, merchant, phone, role, password="member password", name="Иванова Анна"):
    """A user of the merchant with this role, invited and accepted through the domain's own steps."""
    with app.app_context(), db.connection_context():
        user, _rows = team.invite(merchant, phone, name, role)
        accepted = team.accept(team.invited_user(team.issue_invitation_token(user.id)), name, password)
        assert accepted
        return User.get_by_id(user.id)


def user_with_phone(phone):
    """The user with this phone (in an app context with a connection)."""
    return User.get(User.phone == phone)


def invoice_numbered(merchant, number):
    """The merchant's invoice with this number (in an app context with a connection)."""
    return Invoice.of(merchant).where(Invoice.number == number).get()


def make_statement(app, merchant, payments=(Payment(purpose="за услуги", amount="1.23"),)):
    """An imported statement of the merchant: the URL arguments of it and of its first line."""
    with app.test_request_context(), db.connection_context():
        statement = statements.import_statement(Merchant.get_by_id(merchant.id), statement_file(list(payments)),
                                                "kl_to_1c.txt", "оператор").statement
        line = StatementLine.select().where(StatementLine.statement == statement.id).order_by(StatementLine.id).first()
        return {"statement_id": statement.id, "line_id": line.id}
