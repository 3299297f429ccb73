"""The one way a gateway talks to its provider: JSON over HTTPS, PAYMENT_TIMEOUT, no hidden retries.

A retry is always a decision of ours (the payer's next click, the next reconcile run), made
with the same idempotency key; a transport that retried by itself could not promise that.
Errors name the URL path and the status, never the request: it carries the shop's secrets.
"""
from urllib.parse import urlsplit

import requests
from flask import current_app

from .base import ProviderError


def call(method, url, *, json=None, auth=None, headers=None):
    """The provider's JSON answer to one request; ProviderError for anything else."""
    path = urlsplit(url).path
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy or ~/.netrc from the environment near the secrets
            response = session.request(method, url, json=json, auth=auth, headers=headers,
                                       timeout=float(current_app.config["PAYMENT_TIMEOUT"]),
                                       allow_redirects=False)
    except requests.RequestException as exc:
        raise ProviderError(f"{method} {path}: {type(exc).__name__}", unknown=True) from exc
    if response.status_code >= 500 or response.status_code == 202:
        # ЮKassa: 202 "still processing" and 5xx mean "ask again with the same key".
        raise ProviderError(f"{method} {path}: HTTP {response.status_code}", unknown=True)
    try:
        data = response.json()
    except ValueError as exc:
        raise ProviderError(f"{method} {path}: HTTP {response.status_code}, not JSON", unknown=True) from exc
    if response.status_code >= 400 or not isinstance(data, dict):
        code = data.get("code", "") if isinstance(data, dict) else ""
        raise ProviderError(f"{method} {path}: HTTP {response.status_code} {code}".rstrip(), unknown=False)
    return data
