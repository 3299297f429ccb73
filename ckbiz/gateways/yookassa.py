"""ЮKassa API v3 (https://yookassa.ru/developers/api): create a payment, read one, and the
unsigned notifications, believed only as far as "look at payment <id>".

Our own few calls rather than the `yookassa` SDK: the SDK's transport has no timeout and its
ApiClient copies the API URL at import, so neither PAYMENT_TIMEOUT nor a test server's
YOOKASSA_API_URL would reach it without patching; here tests and production share one path.
"""
import ipaddress
import re
from urllib.parse import quote

from flask import current_app, jsonify, request

from ..links import public_url
from . import http
from .base import Notification, NotificationError, ProviderError, Started, kopecks, new_payment_id, rubles

PAYMENT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
STATUSES = {"succeeded": "succeeded", "canceled": "failed"}  # pending, waiting_for_capture: not yet
# https://yookassa.ru/developers/54fz/parameters-values (22 % is code 11 since 1 January 2026)
VAT_CODES = {"none": 1, "0": 2, "10": 3, "20": 4, "5": 7, "7": 8, "22": 11}
TAX_SYSTEM_CODES = {"osn": 1, "usn_income": 2, "usn_income_outcome": 3, "esn": 5, "patent": 6}


def _receipt(receipt):
    """The `receipt` object of a payment."""
    customer = {"email": receipt.email} if receipt.email else {"phone": f"7{receipt.phone}"}
    items = [{"description": item.name, "quantity": format(item.quantity, "f"),
              "amount": {"value": rubles(item.price_kop), "currency": "RUB"}, "vat_code": VAT_CODES[item.vat],
              "payment_subject": "service", "payment_mode": "full_payment",
              **({"agent_type": "payment_agent", "supplier": {"name": item.supplier[0], "inn": item.supplier[1]}}
                 if item.supplier else {})}
             for item in receipt.items]
    return {"customer": customer, "tax_system_code": TAX_SYSTEM_CODES[receipt.tax_system], "items": items}


class YooKassaGateway:
    """The operator's ЮKassa shop."""

    name = "yookassa"
    sbp = True
    form_origins = ("https://yoomoney.ru",)
    api_url_key = "YOOKASSA_API_URL"
    new_payment_id = staticmethod(new_payment_id)

    def start(self, invoice, payment, receipt=None):
        """POST /payments with Idempotence-Key = our payment id; the payer goes to confirmation_url.

        A СБП payment names its method, so ЮKassa's page shows the bank choice and the QR; with
        RECEIPTS the 54-ФЗ receipt rides along.
        """
        extra = {"payment_method_data": {"type": "sbp"}} if payment.method == "sbp" else {}
        if receipt:
            extra["receipt"] = _receipt(receipt)
        data = self._call("POST", "/payments", headers={"Idempotence-Key": payment.provider_payment_id}, json={
            **extra,
            "amount": {"value": rubles(payment.amount_kop), "currency": payment.currency},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": public_url("payer.show", token=invoice.token)},
            "description": f"Оплата по счету № {invoice.number}",
            "metadata": {"payment_id": payment.provider_payment_id, "invoice_number": str(invoice.number)},
        })
        url = (data.get("confirmation") or {}).get("confirmation_url")
        if not data.get("id") or not url:
            raise ProviderError("POST /payments: no id or confirmation_url", unknown=True)
        return Started(str(data["id"]), str(url))

    def lookup(self, payment):
        """GET /payments/{id} as a notification would tell it."""
        return self._fetch(payment.provider_ref)

    def refund(self, payment):
        """POST /refunds of the whole amount; the key makes a repeated request the same refund."""
        data = self._call("POST", "/refunds", headers={"Idempotence-Key": "refund_" + payment.provider_payment_id},
                          json={"payment_id": payment.provider_ref,
                                "amount": {"value": rubles(payment.amount_kop), "currency": payment.currency}})
        if data.get("status") == "canceled":
            raise ProviderError("POST /refunds: canceled", unknown=False)

    def notification(self, req=None):
        """The payment the notification names, as ЮKassa itself describes it when asked.

        Only a sender in YOOKASSA_NOTIFY_IPS is heard, and from its body only the payment id:
        anyone could write the rest. None for events about anything but a payment.
        """
        req = req or request
        try:
            sender = ipaddress.ip_address(req.remote_addr or "")
        except ValueError as exc:
            raise NotificationError("no sender address") from exc
        if not any(sender in ipaddress.ip_network(net, strict=False)
                   for net in current_app.config["YOOKASSA_NOTIFY_IPS"]):
            raise NotificationError(f"sender {sender} is not in YOOKASSA_NOTIFY_IPS")
        data = req.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
            raise NotificationError("malformed notification body")
        if not str(data.get("event", "")).startswith("payment."):
            return None
        payment_id = str(data["object"].get("id", ""))
        if not PAYMENT_ID.fullmatch(payment_id):
            raise NotificationError("malformed payment id")
        return self._fetch(payment_id)

    @staticmethod
    def reply(outcome):
        """Any 200 tells ЮKassa the notification arrived."""
        return jsonify({"outcome": outcome}), 200

    def _fetch(self, provider_ref):
        """One payment read from ЮKassa; our id comes from the metadata we gave it."""
        data = self._call("GET", f"/payments/{quote(provider_ref, safe='')}")
        try:
            ours = str(data["metadata"]["payment_id"])
            amount = kopecks(data["amount"]["value"])
            currency = str(data["amount"]["currency"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError("GET /payments: not one of our payments", unknown=False) from exc
        if str(data.get("id")) != provider_ref:
            raise ProviderError("GET /payments: the answer is about another payment", unknown=False)
        status = STATUSES.get(str(data.get("status")), "pending")
        return Notification(event_id=f"{ours}:{status}", payment_id=ours, invoice_token=None,
                            amount_kop=amount, currency=currency, status=status)

    @staticmethod
    def _call(method, path, **kwargs):
        """One authenticated API call."""
        config = current_app.config
        shop, secret = str(config["YOOKASSA_SHOP_ID"] or ""), str(config["YOOKASSA_SECRET_KEY"] or "")
        if not shop or not secret:
            raise ProviderError("YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY are not set", unknown=False)
        return http.call(method, config["YOOKASSA_API_URL"].rstrip("/") + path, auth=(shop, secret), **kwargs)
