"""ckbiz: a self-hosted invoicing cabinet. The app factory lives here."""

from flask import Flask
from playhouse.pool import PooledDatabase
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import cli, config, database, formatting, gateways, htmx, models, tasks, web
from .extensions import babel, csrf, db, login, mail, private_instance


def create_app(test_config=None):
    """Build the Flask app: configuration, database, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_path=private_instance(),
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    # Ids in URLs beyond 64 bits answer 404 instead of reaching the database
    # (SQLite cannot even bind them: that was a 500).
    app.url_map.converters["int"] = Int64Converter
    config.load(app, test_config)
    if app.config["PAYMENT_GATEWAY"] not in gateways.GATEWAYS:
        # Said at start, not as a 500 on every payer page.
        raise ValueError(f"PAYMENT_GATEWAY={app.config['PAYMENT_GATEWAY']!r}: "
                         f"one of {', '.join(sorted(gateways.GATEWAYS))}")

    if isinstance(db.obj, PooledDatabase):
        # A second app in one process (tests): close the first one's idle connections.
        # Never close_all(): a thread still running on the old pool would lose its connection.
        db.obj.close_idle()
    db.initialize(database.connect(app.config["DATABASE_URL"], app.config["DATABASE_TIMEOUT"]))
    app.teardown_request(_close_database)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "ru")
    login.init_app(app)
    mail.init_app(app)
    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)
    web.init_app(app)
    formatting.init_app(app)
    htmx.init_app(app)
    cli.init_app(app)
    tasks.init_app(app)
    return app


class Int64Converter(IntegerConverter):
    """<int:…> that matches only what a database id can be."""

    def __init__(self, map, fixed_digits=0, min=None, max=models.MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def _close_database(exc):
    """Close the request's connection (peewee opens it at the first query)."""
    if not db.is_closed():
        db.close()
