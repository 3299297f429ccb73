"""Payment gateways behind one small interface, chosen by PAYMENT_GATEWAY.

A gateway module defines a class with:
- name: the URL segment of its callback (/payments/<name>/callback);
- new_payment_id() -> the id the provider will know the payment by;
- start(invoice, payment) -> the URL the payer is sent to for the card form;
- notification(request) -> base.Notification, raising base.NotificationError for
  anything not proven to come from the gateway.
Adding a provider is one module here plus a line in GATEWAYS.
"""
from flask import current_app

from .demo import DemoGateway

GATEWAYS = {gateway.name: gateway for gateway in (DemoGateway,)}


def current():
    """The configured gateway."""
    return by_name(current_app.config["PAYMENT_GATEWAY"])


def by_name(name):
    """The gateway called `name`; LookupError for an unknown one."""
    if name not in GATEWAYS:
        raise LookupError(name)
    return GATEWAYS[name]()
