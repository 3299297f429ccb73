"""Page or fragment: the one place that reads htmx's request headers."""
from flask import request


def wants_fragment(target):
    """True for an htmx request whose target is the element with this id.

    History restores ask for the whole page even though they come from htmx.
    """
    headers = request.headers
    return (headers.get("HX-Request") == "true"
            and headers.get("HX-History-Restore-Request") != "true"
            and headers.get("HX-Target") == target)


def init_app(app):
    """Caches must key pages and fragments apart."""
    @app.after_request
    def vary(response):
        response.vary.update(("HX-Request", "HX-Target"))
        return response
