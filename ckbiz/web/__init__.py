"""The blueprints, one per area of the manual: request in, page or fragment out."""
from . import auth, core, history, invoice, issue, payer, payments, security, settings

BLUEPRINTS = (core.bp, auth.bp, issue.bp, invoice.bp, history.bp, settings.bp, payer.bp, payments.bp)


def init_app(app):
    """Register every blueprint, and the security headers and checks every response gets."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    security.init_app(app)
