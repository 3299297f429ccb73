"""SMSC.ru backend: POST {base}/sys/send.php with login and password, fmt=3 JSON."""
from .base import SmsError, international
from .http import check_status, post_form, redact, timeout_of

DEFAULT_BASE = "https://smsc.ru"
# No money, IP blocked for a while, duplicate within a minute: all pass with time.
# Parameters, login, forbidden text, phone format, undeliverable fail again the same way.
RETRYABLE = {3, 4, 9}


class SmscBackend:
    """Sends through SMSC.ru with SMS_LOGIN and SMS_PASSWORD."""

    def __init__(self, config):
        """Read the credentials, sender, base URL and timeout from config."""
        self.login = config.get("SMS_LOGIN") or ""
        self.password = config.get("SMS_PASSWORD") or ""
        self.sender = config.get("SMS_SENDER") or ""
        self.url = (config.get("SMS_API_URL") or DEFAULT_BASE).rstrip("/") + "/sys/send.php"
        self.timeout = timeout_of(config)

    def send(self, phone, text):
        """Send text to 9XXXXXXXXX and return SMSC's message id."""
        fields = {
            "login": self.login, "psw": self.password, "phones": international(phone),
            "mes": text, "fmt": 3, "charset": "utf-8",
        }
        if self.sender:
            fields["sender"] = self.sender
        status, answer = post_form(self.url, fields, self.timeout)
        check_status(status, "SMSC")
        if answer is None:
            raise SmsError("SMSC answer is not a JSON object", retryable=True)
        if "error" in answer or "error_code" in answer:
            code = _code(answer)
            text = redact(answer.get("error", ""), self.password)
            # A missing code may be a glitch on their side, so it is retried.
            raise SmsError(f"SMSC error {code}: {text}", retryable=code is None or code in RETRYABLE)
        if answer.get("id") in (None, ""):
            raise SmsError("SMSC answer has neither id nor error", retryable=True)
        return str(answer["id"])


def _code(answer):
    """The integer error_code of an SMSC answer, or None."""
    try:
        return int(answer.get("error_code"))
    except (TypeError, ValueError):
        return None
