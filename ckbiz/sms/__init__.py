"""SMS backends behind one interface: send(phone, text) returns the provider's message id."""
import re

_MOBILE = re.compile(r"9\d{9}")
BACKENDS = ("console", "smsru", "smsc")


class SmsError(Exception):
    """An SMS that was not sent; retryable tells whether sending it later may succeed."""

    def __init__(self, message, retryable):
        """Keep the message and whether a later attempt may succeed."""
        super().__init__(message)
        self.retryable = retryable


def international(phone):
    """7XXXXXXXXXX for 9XXXXXXXXX; a non-retryable SmsError for anything else."""
    if not isinstance(phone, str) or not _MOBILE.fullmatch(phone):
        raise SmsError(f"Not a Russian mobile number 9XXXXXXXXX: {phone!r}", retryable=False)
    return "7" + phone


def backend_from_config(config):
    """The backend named by config["SMS_BACKEND"], built from the settings in config."""
    name = config.get("SMS_BACKEND")
    # Imported here because every backend module imports SmsError from this package.
    if name == "console":
        from .console import ConsoleBackend
        return ConsoleBackend(config)
    if name == "smsru":
        from .smsru import SmsRuBackend
        return SmsRuBackend(config)
    if name == "smsc":
        from .smsc import SmscBackend
        return SmscBackend(config)
    raise ValueError(f"Unknown SMS_BACKEND {name!r}: expected one of {', '.join(BACKENDS)}")
