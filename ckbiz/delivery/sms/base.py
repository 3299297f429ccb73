"""What every SMS backend shares: the error it raises and the number format providers want."""
import re

_MOBILE = re.compile(r"9\d{9}")


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
