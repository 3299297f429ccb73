"""Sending one webhook event: the URL checked again after DNS, the connection made to the very
address that was checked (Host header and TLS SNI keep the name), a fresh signature on the same
body and event id at every attempt, no redirects, WEBHOOK_TIMEOUT, and only a short excerpt of
the answer kept."""
import http.client
import json
import socket
import ssl

from flask import current_app

from ..database import utcnow
from ..domain import webhooks
from ..domain.invoice_json import as_json, utc_text
from ..domain.webhook_targets import UnsafeTarget, resolve
from ..gateways.base import SIGNATURE_HEADER, sign
from ..models import Delivery

EXCERPT = 200  # characters of an answer kept in the log: enough to see an error page's title


class WebhookError(Exception):
    """An attempt that did not get a 2xx answer; `retryable` unless trying again cannot help."""

    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.retryable = retryable


def timeout_of(config):
    """Seconds one attempt may take at each step (connect, send, answer): WEBHOOK_TIMEOUT."""
    return float(config["WEBHOOK_TIMEOUT"])


def body_of(delivery, invoice):
    """The event as JSON bytes: {"id", "type", "created_at", "data": {"invoice": …}}; `ping` has no invoice."""
    data = {"invoice": as_json(invoice)} if invoice is not None else {}
    event = {"id": delivery.message_id, "type": delivery.kind, "created_at": utc_text(delivery.created_at),
             "data": data}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def send(delivery, invoice):
    """Make one attempt and record it on the row (body, answer code, time); WebhookError unless 2xx."""
    hook = webhooks.of(delivery.merchant_id)
    if hook is None:
        raise WebhookError("webhook removed", retryable=False)
    body = delivery.payload or body_of(delivery, invoice)
    code = None
    try:
        target = resolve(hook.url, webhooks.allow_private(current_app.config))
        code, answer = _post(target, body.encode(), sign(body.encode(), webhooks.secret(hook)),
                             timeout_of(current_app.config))
    except UnsafeTarget as exc:
        raise WebhookError(str(exc)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise WebhookError(f"{type(exc).__name__}: {exc}"[:EXCERPT]) from None
    finally:
        Delivery.update(payload=body, answer_code=code, attempted_at=utcnow(), recipient=hook.url).where(
            Delivery.id == delivery.id).execute()
    if not 200 <= code < 300:
        raise WebhookError(f"HTTP {code}: {answer}" if answer else f"HTTP {code}")


def _post(target, body, signature, timeout):
    """POST to the checked address; (status, an excerpt of the answer). Redirects are answers, not followed."""
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target.host, target.port, target.address, timeout)
    try:
        connection.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "ckbiz-webhooks",
            SIGNATURE_HEADER: signature})
        response = connection.getresponse()
        excerpt = response.read(EXCERPT * 4).decode("utf-8", "replace")
        return response.status, " ".join(excerpt.split())[:EXCERPT]
    finally:
        connection.close()


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a checked address, the Host header naming the URL's server."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is verified for the URL's server name (SNI)."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
