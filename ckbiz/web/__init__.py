"""The blueprints, one per area of the manual: request in, page or fragment out."""
from . import (access, api, api_docs, api_keys, auth, core, dashboard, history, invoice, issue, payer, payments,
               reminders, security, settings, statements, team, webhooks)

BLUEPRINTS = (core.bp, auth.bp, issue.bp, invoice.bp, invoice.document_bp, history.bp, dashboard.bp, statements.bp,
              settings.bp, reminders.bp, team.bp, api_keys.bp, webhooks.bp, payer.bp, payments.bp, api.bp, api_docs.bp)


def init_app(app):
    """Register every blueprint, the permission check, and the security headers and checks."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    access.init_app(app)
    security.init_app(app)
