"""Who may reach what: the current merchant's rows by number or id, 404 for anyone else's."""
from flask import abort
from flask_login import current_user

from ..domain import catalog
from ..models import Invoice


def get_invoice(number):
    """The current merchant's invoice with this number; 404 for anyone else's."""
    invoice = Invoice.of(current_user).where(Invoice.number == number).first()
    if invoice is None:
        abort(404)
    return invoice


def get_service(service_id):
    """The current merchant's service with its organisation; 404 for anyone else's."""
    service = catalog.service_of(current_user, service_id)
    if service is None:
        abort(404)
    return service
