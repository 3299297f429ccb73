"""T-Bank internet acquiring, API v2 (https://developer.tbank.ru/eacq/api): Init, GetState and
the signed notifications. OrderId is our payment id; amounts are kopecks."""
import hashlib
import hmac

from flask import current_app, request

from ..links import public_url
from . import http
from .base import Notification, NotificationError, ProviderError, Started, new_payment_id

PAID = frozenset({"CONFIRMED"})
# Receipt values (https://developer.tbank.ru/eacq/api/init, Receipt FFD 1.2); "vat22" is what
# T-Bank integrations send since the 2026 rate, not yet seen in T-Bank's own pages at hand.
TAXES = {"none": "none", "0": "vat0", "5": "vat5", "7": "vat7", "10": "vat10", "20": "vat20", "22": "vat22"}
DECLINED = frozenset({"REJECTED", "DEADLINE_EXPIRED", "CANCELED"})


def token(fields, password):
    """T-Bank's request signature (https://developer.tbank.ru/eacq/intro/developer/token).

    The root-level scalar values plus Password, sorted by key name, concatenated,
    SHA-256 hex; nested objects (Receipt, DATA) and Token itself take no part.
    """
    pairs = {key: value for key, value in fields.items()
             if key != "Token" and value is not None and not isinstance(value, (dict, list))}
    pairs["Password"] = password
    text = "".join(_scalar(pairs[key]) for key in sorted(pairs))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _scalar(value):
    """A value as T-Bank writes it into the signed string (booleans in JSON's spelling)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _status(provider_status):
    """T-Bank's status in our words: only CONFIRMED pays; the rest of the way is pending."""
    if provider_status in PAID:
        return "succeeded"
    return "failed" if provider_status in DECLINED else "pending"


def _receipt(receipt):
    """The Receipt object of Init, FFD 1.2 (nested: it takes no part in the Token)."""
    contact = {"Email": receipt.email} if receipt.email else {"Phone": f"+7{receipt.phone}"}
    items = []
    for item in receipt.items:
        agent = ({"AgentData": {"AgentSign": "payment_agent"},
                  "SupplierInfo": {"Name": item.supplier[0], "Inn": item.supplier[1]}} if item.supplier else {})
        # Quantity is a JSON number; at most three decimals, which a double holds exactly enough
        # for T-Bank to read back the same value (it is not money: Price and Amount are kopecks).
        quantity = int(item.quantity) if item.quantity == int(item.quantity) else float(item.quantity)
        items.append({"Name": item.name, "Price": item.price_kop, "Quantity": quantity, "Amount": item.amount_kop,
                      "Tax": TAXES[item.vat], "PaymentMethod": "full_payment", "PaymentObject": "service",
                      "MeasurementUnit": "шт", **agent})
    return {"FfdVersion": "1.2", "Taxation": receipt.tax_system, **contact, "Items": items}


class TBankGateway:
    """The operator's T-Bank terminal."""

    name = "tbank"
    sbp = False  # T-Bank's СБП is a QR of its own (GetQr), not a payment page: not wired up
    form_origins = ("https://securepay.tinkoff.ru",)
    api_url_key = "TBANK_API_URL"
    new_payment_id = staticmethod(new_payment_id)

    def start(self, invoice, payment, receipt=None):
        """Init with OrderId = our payment id; the payer goes to PaymentURL and back to /i/<token>."""
        back = public_url("payer.show", token=invoice.token)
        data = self._call("Init", {
            **({"Receipt": _receipt(receipt)} if receipt else {}),
            "Amount": payment.amount_kop, "OrderId": payment.provider_payment_id,
            "Description": f"Оплата по счету № {invoice.number}",
            "NotificationURL": public_url("payments.callback", gateway=self.name),
            "SuccessURL": back, "FailURL": back})
        if not data.get("PaymentId") or not data.get("PaymentURL"):
            raise ProviderError("Init: no PaymentId or PaymentURL", unknown=True)
        return Started(str(data["PaymentId"]), str(data["PaymentURL"]))

    def lookup(self, payment):
        """GetState of a payment T-Bank knows, as a notification would tell it."""
        data = self._call("GetState", {"PaymentId": payment.provider_ref})
        if str(data.get("OrderId")) != payment.provider_payment_id:
            raise ProviderError("GetState: the answer is about another order", unknown=False)
        return self._notice(data)

    def refund(self, payment):
        """Cancel of the whole amount: T-Bank refunds a CONFIRMED payment, and a second Cancel of a
        refunded one is an error, never a second refund."""
        self._call("Cancel", {"PaymentId": payment.provider_ref, "Amount": payment.amount_kop})

    def notification(self, req=None):
        """A notification signed with our terminal's password; NotificationError otherwise."""
        data = (req or request).get_json(silent=True)
        if not isinstance(data, dict):
            raise NotificationError("malformed notification body")
        key, password = self._credentials()
        if not password or not key:
            raise NotificationError("no T-Bank terminal configured")
        if str(data.get("TerminalKey")) != key:
            raise NotificationError("notification for another terminal")
        if not hmac.compare_digest(str(data.get("Token", "")), token(data, password)):
            raise NotificationError("wrong Token")
        return self._notice(data)

    @staticmethod
    def reply(outcome):
        """T-Bank stops resending once it reads the plain body OK."""
        return "OK", 200, {"Content-Type": "text/plain; charset=utf-8"}

    def _notice(self, data):
        """A notification or a GetState answer as our Notification."""
        try:
            order_id, amount = str(data["OrderId"]), int(data["Amount"])
        except (KeyError, TypeError, ValueError) as exc:
            raise NotificationError("malformed T-Bank payment") from exc
        status = _status(str(data.get("Status", "")))
        return Notification(event_id=f"{order_id}:{status}", payment_id=order_id, invoice_token=None,
                            amount_kop=amount, currency="RUB", status=status)

    def _call(self, method, fields):
        """One signed API call; ProviderError unless T-Bank answers Success with ErrorCode 0."""
        key, password = self._credentials()
        if not key or not password:
            raise ProviderError("TBANK_TERMINAL_KEY and TBANK_PASSWORD are not set", unknown=False)
        body = {"TerminalKey": key, **fields}
        body["Token"] = token(body, password)
        data = http.call("POST", f"{current_app.config['TBANK_API_URL'].rstrip('/')}/{method}", json=body)
        if data.get("Success") is not True or str(data.get("ErrorCode", "0")) != "0":
            raise ProviderError(f"{method}: ErrorCode {data.get('ErrorCode')} {data.get('Message', '')}".rstrip(),
                                unknown=False)
        return data

    @staticmethod
    def _credentials():
        config = current_app.config
        return str(config["TBANK_TERMINAL_KEY"] or ""), str(config["TBANK_PASSWORD"] or "")
