"""Console backend: logs each SMS and appends it to <instance>/sms.log instead of sending it."""
import logging
import os
import uuid
from datetime import datetime, timezone

from .base import SmsError, international

log = logging.getLogger("ckbiz.sms")


class ConsoleBackend:
    """Development backend: the SMS goes to the log and to sms.log, never to a phone."""

    def __init__(self, config):
        """Remember where sms.log lives."""
        instance_path = config.get("INSTANCE_PATH")
        if not instance_path:
            raise ValueError("The console SMS backend needs INSTANCE_PATH to write sms.log")
        self.path = os.path.join(instance_path, "sms.log")

    def send(self, phone, text):
        """Log the SMS, append it to sms.log as one line and return a generated id."""
        number = "+" + international(phone)
        sms_id = "console-" + uuid.uuid4().hex
        # One SMS per line, so the log can be grepped and tailed.
        flat = " ".join(text.splitlines())
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        log.info("SMS %s to %s: %s", sms_id, number, flat)
        try:
            # A single write in append mode keeps concurrent workers' lines whole.
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(f"{now} {number} {flat}\n")
        except OSError as exc:
            raise SmsError(f"Cannot write {self.path}: {exc.strerror}", retryable=True) from exc
        return sms_id
