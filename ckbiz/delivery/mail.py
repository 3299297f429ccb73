"""Sending e-mail: SMTP with a timeout, or .eml files in the outbox when no server is set."""
import os
import secrets
import smtplib
import threading
import time
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import NamedTuple

from flask import current_app


class MailError(Exception):
    """A message the server did not take; retryable tells whether later may work."""

    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.retryable = retryable


class Outgoing(NamedTuple):
    """A message ready to go: envelope sender and recipient, Message-ID, and its bytes."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


# The modern email policy re-parses every header while writing, which made building a
# message cost several times more than sending it; compat32 writes what it is given.
POLICY = compat32.clone(linesep="\r\n")


def build(subject, recipient, text, html, message_id):
    """A multipart/alternative (text + HTML) message with a stable Message-ID.

    Values that go into headers are checked here, so a crafted address cannot add a
    header; the subject is folded onto one line and encoded.
    """
    raw_sender = current_app.config["MAIL_DEFAULT_SENDER"]
    if any(c in value for value in (raw_sender, recipient, message_id) for c in "\r\n"):
        raise MailError("line breaks in a header: refused", retryable=False)
    name, sender = parseaddr(raw_sender)
    # The envelope is ASCII too (no SMTPUTF8): a Cyrillic domain goes out in IDNA, as in From.
    sender = _ascii_address(sender)
    recipient = _ascii_address(recipient)
    # Both parts are base64, which has no "." or "_": this boundary cannot occur in them,
    # so the writer need not search the parts for it (a regex compiled per message).
    message = MIMEMultipart("alternative", boundary=f"ckbiz_{secrets.token_hex(12)}.", policy=POLICY)
    message.attach(MIMEText(text, "plain", "utf-8", policy=POLICY))
    message.attach(MIMEText(html, "html", "utf-8", policy=POLICY))
    message["Subject"] = Header(" ".join(subject.split()), "utf-8")
    message["From"] = formataddr((name, sender), "utf-8")
    message["To"] = recipient
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id
    return Outgoing(sender, recipient, message_id, message.as_bytes())


def _ascii_address(address):
    """The address with its domain in IDNA; a non-ASCII local part would need SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise MailError(f"cannot write the domain of {address!r}", retryable=False) from exc
    if not local.isascii():
        raise MailError(f"{address!r} needs SMTPUTF8, which ckbiz does not use", retryable=False)
    return f"{local}@{domain}"


def send(message):
    """Deliver one message: over SMTP when MAIL_SERVER is set, else into instance/outbox/."""
    config = current_app.config
    if not config["MAIL_SERVER"]:
        return _write_to_outbox(message)
    try:
        _send_over_smtp(config, message.sender, [message.recipient], message.data)
    except smtplib.SMTPRecipientsRefused as exc:
        temporary = all(code < 500 for code, _ in exc.recipients.values())
        raise MailError(f"recipient refused: {_codes(exc.recipients)}", retryable=temporary) from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx is permanent by the SMTP rules; 4xx asks us to come back later.
        raise MailError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                        retryable=exc.smtp_code < 500) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{exc.__class__.__name__}: {exc}") from exc
    return message.message_id


# Each sending thread keeps its SMTP connection for the next message: a new one costs
# a TCP handshake, EHLO, maybe STARTTLS and AUTH, which is most of the time of a small
# message. Servers drop idle clients after a minute or more; past IDLE_SECONDS we
# close ours rather than find out.
IDLE_SECONDS = 30
_kept = threading.local()


def _send_over_smtp(config, sender, recipients, data):
    """sendmail() on this thread's open connection, or on a new one."""
    key = tuple(config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_SSL", "MAIL_USE_TLS", "MAIL_USERNAME"))
    smtp = _take_kept(key)
    if smtp is not None:
        try:
            smtp.sendmail(sender, recipients, data)
        except BaseException as exc:
            _close(smtp)
            if not _closing(exc):
                raise
            # The server closed, or is closing, the kept connection without taking the
            # message: that says nothing about the server; send it on a fresh one now.
        else:
            return _keep(key, smtp)
    smtp = _open(config)
    try:
        smtp.sendmail(sender, recipients, data)
    except BaseException:
        _close(smtp)
        raise
    _keep(key, smtp)


def _closing(exc):
    """True when the error says the connection is gone, or going, rather than the message refused.

    421 is "service not available, closing the transmission channel": servers answer it
    to a connection that has sent its quota of messages or idled too long, at MAIL,
    RCPT or DATA; smtplib closes its end on it.
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


def _open(config):
    """A connected, greeted and logged-in SMTP client with the configured timeout.

    Flask-Mail opens SMTP without a timeout, so a dead server would hang the worker
    for minutes; we talk to the server ourselves.
    """
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _take_kept(key):
    """This thread's kept connection to the same server, if it is fresh enough."""
    kept = getattr(_kept, "connection", None)
    _kept.connection = None
    if kept is None:
        return None
    kept_key, smtp, since = kept
    if kept_key != key or time.monotonic() - since > IDLE_SECONDS:
        _close(smtp)
        return None
    return smtp


def _keep(key, smtp):
    _kept.connection = (key, smtp, time.monotonic())


def _close(smtp):
    """Drop the connection without QUIT: after a timeout, a QUIT would wait out another one."""
    smtp.close()


def _write_to_outbox(message):
    """Write the message as an .eml file named after its Message-ID."""
    folder = os.path.join(current_app.instance_path, "outbox")
    os.makedirs(folder, exist_ok=True)
    name = message.message_id.strip("<>").split("@")[0] + ".eml"
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(message.data)
    return message.message_id


def _codes(recipients):
    """'a@b: 550 no such user' for smtplib's refused-recipients dict."""
    return "; ".join(f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in recipients.items())


def _text(value):
    """SMTP replies are bytes; show them as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
