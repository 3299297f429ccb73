"""SMS backends behind one interface: send(phone, text) returns the provider's message id."""
from .base import SmsError
from .console import ConsoleBackend
from .smsc import SmscBackend
from .smsru import SmsRuBackend

BACKENDS = {"console": ConsoleBackend, "smsru": SmsRuBackend, "smsc": SmscBackend}

__all__ = ["BACKENDS", "SmsError", "backend_from_config"]


def backend_from_config(config):
    """The backend named by config["SMS_BACKEND"], built from the settings in config."""
    name = config.get("SMS_BACKEND")
    if name not in BACKENDS:
        raise ValueError(f"Unknown SMS_BACKEND {name!r}: expected one of {', '.join(BACKENDS)}")
    return BACKENDS[name](config)
