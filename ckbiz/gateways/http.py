"""The one way a gateway talks to its provider: JSON over HTTPS, PAYMENT_TIMEOUT, no hidden retries.

A retry is always a decision of ours (the payer's next click, the next reconcile run), made
with the same idempotency key; a transport that retried by itself could not promise that.
Errors name the URL path and the status, never the request: it carries the shop's secrets.

The standard library's http.client, one connection per call: no proxy, ~/.netrc or redirect
is ever followed near the secrets, and the certificate is checked against the system's CAs.
(requests did the same here and cost every web worker about 5 MB of modules: docs/benchmarks.md, 2026-12-01.)
"""
import http.client
import json as json_module
from base64 import b64encode
from urllib.parse import urlsplit

from flask import current_app

from .base import ProviderError

CONNECTIONS = {"https": http.client.HTTPSConnection, "http": http.client.HTTPConnection}


def call(method, url, *, json=None, auth=None, headers=None):
    """The provider's JSON answer to one request; ProviderError for anything else."""
    parts = urlsplit(url)
    path = parts.path
    sent = {"Accept": "application/json", **(headers or {})}
    body = None
    if json is not None:
        body = json_module.dumps(json, allow_nan=False).encode()
        sent["Content-Type"] = "application/json"
    if auth is not None:
        sent["Authorization"] = "Basic " + b64encode(":".join(auth).encode()).decode("ascii")
    connection = CONNECTIONS[parts.scheme](parts.netloc, timeout=float(current_app.config["PAYMENT_TIMEOUT"]))
    try:
        connection.request(method, path + (f"?{parts.query}" if parts.query else ""), body=body, headers=sent)
        response = connection.getresponse()
        status, content = response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ProviderError(f"{method} {path}: {type(exc).__name__}", unknown=True) from exc
    finally:
        connection.close()
    if status >= 500 or status == 202:
        # ЮKassa: 202 "still processing" and 5xx mean "ask again with the same key".
        raise ProviderError(f"{method} {path}: HTTP {status}", unknown=True)
    try:
        data = json_module.loads(content)
    except ValueError as exc:
        raise ProviderError(f"{method} {path}: HTTP {status}, not JSON", unknown=True) from exc
    if status >= 400 or not isinstance(data, dict):
        code = data.get("code", "") if isinstance(data, dict) else ""
        raise ProviderError(f"{method} {path}: HTTP {status} {code}".rstrip(), unknown=False)
    return data
