"""SMS.ru backend: POST {base}/sms/send with api_id, one status per number."""
from .base import SmsError, international
from .http import check_status, post_form, redact, timeout_of

DEFAULT_BASE = "https://sms.ru"
# No money, service down, daily and per-minute limits: all pass with time.
# Every other code (bad key, number, text, sender) fails again the same way.
RETRYABLE = {201, 206, 220, 230, 231, 232, 233, 500}


class SmsRuBackend:
    """Sends through SMS.ru with the SMS_API_KEY api_id."""

    def __init__(self, config):
        """Read the key, sender, base URL and timeout from config."""
        self.api_key = config.get("SMS_API_KEY") or ""
        self.sender = config.get("SMS_SENDER") or ""
        self.url = (config.get("SMS_API_URL") or DEFAULT_BASE).rstrip("/") + "/sms/send"
        self.timeout = timeout_of(config)

    def send(self, phone, text):
        """Send text to 9XXXXXXXXX and return SMS.ru's sms_id."""
        number = international(phone)
        fields = {"api_id": self.api_key, "to": number, "msg": text, "json": 1}
        if self.sender:
            fields["from"] = self.sender
        status, answer = post_form(self.url, fields, self.timeout)
        check_status(status, "SMS.ru")
        if answer is None:
            raise SmsError("SMS.ru answer is not a JSON object", retryable=True)
        if answer.get("status") != "OK":
            raise self._error(answer)
        result = (answer.get("sms") or {}).get(number)
        if not isinstance(result, dict):
            raise SmsError(f"SMS.ru answer has no status for {number}", retryable=True)
        if _code(result) != 100:
            raise self._error(result)
        if not result.get("sms_id"):
            raise SmsError("SMS.ru accepted the SMS but gave no sms_id", retryable=True)
        return str(result["sms_id"])

    def _error(self, part):
        """SmsError for an SMS.ru status block; a missing code may be a glitch, so retry."""
        code = _code(part)
        text = redact(part.get("status_text", ""), self.api_key)
        return SmsError(f"SMS.ru error {code}: {text}", retryable=code is None or code in RETRYABLE)


def _code(part):
    """The integer status_code of an SMS.ru status block, or None."""
    try:
        return int(part.get("status_code"))
    except (TypeError, ValueError):
        return None
