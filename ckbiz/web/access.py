"""Who may reach what, checked in one place.

Every view of the cabinet declares the permission it needs with `requires`; one hook
before every request sends a stranger to the login page and refuses (403, with the
reason) a user whose role lacks the permission. A view that declares nothing is public
(the login page, the payer's page, the gateways' callbacks), and tests/test_roles.py
lists them. Rows are reached through the current merchant, so another merchant's are 404.
"""
from flask import abort, current_app, render_template, request
from flask_login import current_user
from werkzeug.local import LocalProxy

from ..domain import catalog, roles
from ..extensions import login
from ..htmx import is_htmx
from ..models import Invoice

# The merchant whose cabinet the logged-in user works in.
current_merchant = LocalProxy(lambda: current_user.merchant)


def requires(permission):
    """Declare the permission a view needs (domain.roles.PERMISSIONS)."""
    if permission not in roles.PERMISSIONS:  # a misspelt permission fails at import, not at a request
        raise ValueError(f"unknown permission {permission!r}")

    def declare(view):
        view.permission = permission
        return view
    return declare


def permission_of(endpoint):
    """The permission the endpoint's view declared, or None for a public one."""
    return getattr(current_app.view_functions.get(endpoint), "permission", None)


def check_permission():
    """Before every request: log in first, then the role must have the view's permission."""
    permission = permission_of(request.endpoint)
    if permission is None:
        return None
    if not current_user.is_authenticated:
        return login.unauthorized()
    if not roles.can(current_user.role, permission):
        return forbidden(permission)
    return None


def forbidden(permission):
    """403 with the reason: a page, or plain text that htmx shows as a message."""
    message = roles.refusal(permission)
    if is_htmx():
        return message, 403, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("core/forbidden.html", message=message), 403


def actor():
    """How events name the logged-in user."""
    return current_user.signature


def get_invoice(number):
    """The current merchant's invoice with this number; 404 for anyone else's."""
    invoice = Invoice.of(current_merchant).where(Invoice.number == number).first()
    if invoice is None:
        abort(404)
    return invoice


def get_service(service_id):
    """The current merchant's service with its organisation; 404 for anyone else's."""
    service = catalog.service_of(current_merchant, service_id)
    if service is None:
        abort(404)
    return service


def init_app(app):
    """Check every request's permission before its view runs."""
    app.before_request(check_permission)
