"""Absolute links for messages sent outside any request: built from BASE_URL."""
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint, **values):
    """The absolute URL of an endpoint as payers reach it (BASE_URL's scheme, host and path)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)
