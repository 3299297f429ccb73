"""Page or fragment, and the answers htmx understands: the one place that reads HX-* headers."""
import json

from flask import redirect as plain_redirect
from flask import render_template, request

# Every header a view may branch on; caches must key pages and fragments apart by them.
BRANCHED_ON = ("HX-Request", "HX-Target")


def is_htmx():
    """True for a request htmx made to swap part of a page.

    History restores ask for the whole page even though they come from htmx.
    """
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def target():
    """The id of the element an htmx request will swap, or None for a plain request."""
    return request.headers.get("HX-Target") if is_htmx() else None


def wants_fragment(element_id):
    """True for an htmx request whose target is the element with this id."""
    return target() == element_id


def page_or_fragment(page, fragment, element_id, status=200, **context):
    """The fragment when htmx asks to swap `element_id`, else the whole page."""
    return render_template(fragment if wants_fragment(element_id) else page, **context), status


def redirect(url):
    """After a change: htmx follows a 204 with HX-Redirect, a browser a 303 (a reload never resubmits)."""
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return plain_redirect(url, 303)


def toast(message, level="info"):
    """The HX-Trigger header that shows a message (ASCII JSON: headers are latin-1)."""
    return {"HX-Trigger": json.dumps({"showMessage": {"level": level, "message": str(message)}})}


def retarget(selector):
    """Headers that swap the answer into `selector` instead of the requesting element."""
    return {"HX-Retarget": selector, "HX-Reswap": "outerHTML"}


def init_app(app):
    """Vary on the headers views branch on, and let templates ask is_htmx()."""
    app.add_template_global(is_htmx)

    @app.after_request
    def vary(response):
        response.vary.update(BRANCHED_ON)
        return response
