"""«Вернуть платеж» (DESIGN "Real payment providers", Refunds): a payment needing a refund goes back
through its own provider once, whatever the clicks, tabs and timeouts."""
from datetime import timedelta

import pytest

from ckbiz.extensions import db
from ckbiz.models import Invoice, InvoiceEvent, Payment
from conftest import csrf_token
from factories import make_invoice, team_member
from test_payments import notify, start_payment
from test_providers import at_provider_page, click_pay, payments, tbank_notify, yookassa_notify

REFUND_BUTTON = "Вернуть платеж"


def cancel(app, invoice):
    with app.app_context(), db.connection_context():
        Invoice.update(status="cancelled").where(Invoice.id == invoice.id).execute()


def refund(client, invoice, payment, confirm="1"):
    token = csrf_token(client, f"/invoices/{invoice.number}")
    return client.post(f"/invoices/{invoice.number}/payments/{payment.provider_payment_id}/refund",
                       data={"csrf_token": token, "confirm": confirm})


def refunded_events(app, invoice):
    with app.app_context(), db.connection_context():
        return [(e.kind, e.actor) for e in InvoiceEvent.select().where(
            InvoiceEvent.invoice == invoice.id, InvoiceEvent.kind == "payment_refunded")]


def paid_after_cancellation(app, client, merchant, provider, fake):
    """A payer pays at the provider just after the merchant cancelled: the money needs to go back."""
    invoice = make_invoice(app, merchant)
    at_provider_page(fake, click_pay(client, invoice).headers["Location"], "Оплатить")
    cancel(app, invoice)
    [payment] = payments(app, invoice)
    notify_at = tbank_notify if provider == "tbank" else yookassa_notify
    assert notify_at(client, fake.notification(payment.provider_ref)).status_code == 200
    [payment] = payments(app, invoice)
    assert payment.attention.startswith("refund")
    return invoice, payment


def test_owner_returns_a_yookassa_payment_once(app, client, merchant, logged_in, yookassa):
    invoice, payment = paid_after_cancellation(app, client, merchant, "yookassa", yookassa)
    html = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "Платежи, требующие возврата" in html and REFUND_BUTTON in html

    question = refund(client, invoice, payment, confirm="")
    assert "Вернуть платеж по счету" in question.get_data(as_text=True) and not yookassa.api_requests("/v3/refunds")
    assert refund(client, invoice, payment).status_code == 303
    [request] = yookassa.api_requests("/v3/refunds")
    assert request["key"] == "refund_" + payment.provider_payment_id
    assert request["json"] == {"payment_id": payment.provider_ref, "amount": {"value": "203.00", "currency": "RUB"}}
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "платеж возвращен" in page and "возвращен" in page and f">{REFUND_BUTTON}<" not in page

    again = refund(client, invoice, payment)  # the other tab, or a second click
    assert again.status_code == 303 and "Платеж уже возвращен" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(yookassa.api_requests("/v3/refunds")) == 1 and len(refunded_events(app, invoice)) == 1
    assert fresh_payment(app, payment).refund_state == "refunded"


def fresh_payment(app, payment):
    with app.app_context(), db.connection_context():
        return Payment.get_by_id(payment.id)


def test_tbank_refund_after_a_timeout_is_asked_again_only_once_the_first_request_is_over(
        app, client, merchant, logged_in, tbank):
    invoice, payment = paid_after_cancellation(app, client, merchant, "tbank", tbank)
    tbank.hang_next()
    answer = refund(client, invoice, payment, confirm="1")
    assert "Банк не подтвердил возврат" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert fresh_payment(app, payment).refund_state == "refunding"

    # At once, the claim still stands: nobody asks T-Bank a second time in parallel.
    answer = refund(client, invoice, payment)
    assert "уже выполняется" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert len(tbank.api_requests("/v2/Cancel")) == 1

    with app.app_context(), db.connection_context():  # two timeouts later
        started = Payment.get_by_id(payment.id).refund_started_at
        Payment.update(refund_started_at=started - timedelta(seconds=5)).where(Payment.id == payment.id).execute()
    assert refund(client, invoice, payment).status_code == 303
    cancels = tbank.api_requests("/v2/Cancel")
    assert [c["json"]["PaymentId"] for c in cancels] == [payment.provider_ref] * 2
    assert cancels[1]["json"]["Amount"] == payment.amount_kop
    assert tbank.payments[payment.provider_ref]["Status"] == "REFUNDED"
    assert fresh_payment(app, payment).refund_state == "refunded" and len(refunded_events(app, invoice)) == 1


def test_tbank_refusing_a_refund_leaves_it_to_try_again(app, client, merchant, logged_in, tbank):
    invoice, payment = paid_after_cancellation(app, client, merchant, "tbank", tbank)
    tbank.payments[payment.provider_ref]["Status"] = "REVERSED"  # T-Bank no longer holds it as CONFIRMED
    answer = refund(client, invoice, payment)
    assert "Банк не подтвердил возврат" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert fresh_payment(app, payment).refund_state == "due" and not refunded_events(app, invoice)


def test_demo_refund_is_recorded_and_a_payment_needing_none_is_refused(app, client, merchant, logged_in):
    flagged, fine = make_invoice(app, merchant), make_invoice(app, merchant)
    for invoice in (flagged, fine):
        payment_id = start_payment(client, invoice)
        if invoice is flagged:
            cancel(app, invoice)
        assert notify(client, app, payment_id, invoice).status_code == 200
    [to_return], [paid] = payments(app, flagged), payments(app, fine)
    assert refund(client, flagged, to_return).status_code == 303
    assert fresh_payment(app, to_return).refund_state == "refunded"
    assert refunded_events(app, flagged)[0][1]  # the owner is named
    answer = refund(client, fine, paid)
    assert "Этот платеж не требует возврата" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert fresh_payment(app, paid).refund_state == "" and REFUND_BUTTON not in client.get(
        f"/invoices/{fine.number}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_only_the_owner_sees_the_refund_button(app, client, auth, merchant, role, tbank):
    invoice, payment = paid_after_cancellation(app, client, merchant, "tbank", tbank)
    team_member(app, merchant, "9165550404", role)
    assert auth.login(phone="9165550404", password="member password").status_code == 303
    html = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "Платежи, требующие возврата" in html and f">{REFUND_BUTTON}<" not in html
    assert refund(client, invoice, payment).status_code == 403
    assert not tbank.api_requests("/v2/Cancel")
