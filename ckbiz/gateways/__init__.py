"""Payment gateways behind one small interface, chosen by PAYMENT_GATEWAY.

A gateway module defines a class with:
- name: the URL segment of its callback (/payments/<name>/callback), kept on each payment row;
- sbp: whether it can take a payment through СБП (payment.method == "sbp");
- form_origins, api_url_key: where its pay form leads (the default PAYMENT_FORM_ORIGINS and the
  config key of its API URL, whose origin serves its payment page too), for the CSP;
- new_payment_id() -> our id for the payment: the provider's idempotency key or order id;
- start(invoice, payment, receipt) -> base.Started (the provider's id, the URL the payer is sent
  to), raising base.ProviderError when the provider cannot be asked or refuses; `receipt` is a
  base.Receipt to send with the payment (54-ФЗ), or None;
- notification(request) -> base.Notification, or None for an event about no payment, raising
  base.NotificationError for anything not proven to come from the gateway;
- lookup(payment) -> the Notification the provider would send now, or None when it cannot tell;
- refund(payment) -> None once the provider has taken the return of the whole payment, raising
  base.ProviderError otherwise; asked again only with the same idempotency key;
- reply(outcome) -> the answer the provider expects to a notification it may stop resending.
Adding a provider is one module here plus a line in GATEWAYS.
"""
from urllib.parse import urlsplit

from flask import current_app

from .demo import DemoGateway
from .tbank import TBankGateway
from .yookassa import YooKassaGateway

GATEWAYS = {gateway.name: gateway for gateway in (DemoGateway, TBankGateway, YooKassaGateway)}


def current():
    """The configured gateway."""
    return by_name(current_app.config["PAYMENT_GATEWAY"])


def by_name(name):
    """The gateway called `name`; LookupError for an unknown one."""
    if name not in GATEWAYS:
        raise LookupError(name)
    return GATEWAYS[name]()


def methods():
    """How a payer may pay now: "card", and "sbp" with SBP=true and a provider that offers it."""
    return ["card", "sbp"] if current_app.config["SBP"] and current().sbp else ["card"]


def form_origins():
    """Origins the pay form may lead to besides our own: PAYMENT_FORM_ORIGINS (or the configured
    gateway's own) and the origin of its API URL."""
    gateway = current()
    configured = current_app.config["PAYMENT_FORM_ORIGINS"]
    urls = list(gateway.form_origins if configured is None else configured)
    if gateway.api_url_key:
        urls.append(current_app.config[gateway.api_url_key])
    origins = []
    for url in urls:
        parts = urlsplit(str(url))
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("https", "http") and parts.netloc and origin not in origins:
            origins.append(origin)
    return origins
