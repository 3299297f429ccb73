"""POST a form to an SMS provider and read its JSON answer."""
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

from .base import SmsError

# Provider answers are a few hundred bytes; never hold more than this in memory.
MAX_ANSWER = 1 << 20


def timeout_of(config):
    """Seconds to wait for a provider: SMS_TIMEOUT, 10 by default."""
    # float() because JSON-loaded settings arrive as Decimal.
    return float(config.get("SMS_TIMEOUT") or 10)


def post_form(url, fields, timeout):
    """POST fields form-encoded in UTF-8; return (HTTP status, JSON object or None)."""
    body = urllib.parse.urlencode(fields, encoding="utf-8").encode("ascii")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Accept": "application/json",
    })
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:
            # Error statuses may still carry the provider's JSON explanation.
            status, raw = exc.code, exc.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:
        # The message names only the failure, never the request: the body holds secrets.
        raise SmsError(f"SMS provider unreachable: {type(exc).__name__}: {exc}", retryable=True) from None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:
        return status, None
    return status, answer if isinstance(answer, dict) else None


def check_status(status, provider):
    """Raise SmsError unless the HTTP status is 2xx; 5xx and 429 are retryable."""
    if 200 <= status < 300:
        return
    # Other 4xx mean our request or URL is wrong, and repeating it cannot help.
    retryable = status >= 500 or status == 429
    raise SmsError(f"{provider} answered HTTP {status}", retryable=retryable)


def redact(text, secret):
    """text with secret masked, for provider messages that might echo it back."""
    text = str(text).replace(secret, "***") if secret else str(text)
    # Cut after masking, so no fragment of the secret survives the cut.
    return text[:300]
