"""Security headers on every response, and the CSRF failure page."""
from flask import current_app, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from ..htmx import is_htmx

# No inline script or style anywhere, so the policy can be strict.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


NUL_REFUSAL = _l("В запросе недопустимый символ. Проверьте, что вы ввели, и повторите.")


def csp(form_origins=()):
    """The policy of a page whose forms may also lead to these origins (a provider's payment page)."""
    return CSP + "".join(f" {origin}" for origin in form_origins)


def init_app(app):
    """Register the NUL guard, the header hook and the CSRF error page."""
    app.before_request(_refuse_nul)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_failed)


def _headers(response):
    """Add the headers a strict deployment expects."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static" and session.get("_user_id"):
        # A merchant's invoices, payers and CSV must not stay in a shared computer's cache
        # (or a proxy's) after logout; static files keep their own caching. The session,
        # not current_user: no database lookup on the way out.
        headers.setdefault("Cache-Control", "no-store")
    # BASE_URL says the site is HTTPS even when a proxy without PROXY_COUNT makes the
    # request look like plain HTTP; browsers ignore HSTS received over HTTP, so sending
    # it then is harmless, and forgetting PROXY_COUNT no longer drops it.
    if request.is_secure or str(current_app.config["BASE_URL"]).startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _refuse_nul():
    """Refuse a query or form value holding NUL, for every route at once.

    No person types one, SQLite stores it, and PostgreSQL refuses it in any string
    (psycopg raises): a search or an invoice comment with %00 was a 500 there.
    """
    for source in (request.args, request.form):
        for values in source.listvalues():
            if any("\x00" in value for value in values):
                return str(NUL_REFUSAL), 400, {"Content-Type": "text/plain; charset=utf-8"}
    return None


def _csrf_failed(error):
    """A stale or missing token: say so plainly and offer a fresh form."""
    message = _("Форма устарела или отправлена не из кабинета. Обновите страницу и повторите.")
    if is_htmx():
        return message, 400, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("core/csrf.html", message=message, retry_url=request.path), 400
