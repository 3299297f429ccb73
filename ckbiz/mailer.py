"""Sending e-mail: SMTP with a timeout, or .eml files in the outbox when no server is set."""
import os
import smtplib

from flask import current_app
from flask_mail import Message


class MailError(Exception):
    """A message the server did not take; retryable tells whether later may work."""

    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.retryable = retryable


def build(subject, recipient, text, html, message_id):
    """A multipart (text + HTML) message with a stable Message-ID.

    Flask-Mail refuses CR/LF in headers (BadHeaderError), so a crafted subject
    or address cannot add headers.
    """
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    subject = " ".join(subject.split())
    message = Message(subject=subject, recipients=[recipient], body=text, html=html, sender=sender)
    message.msgId = message_id
    return message


def send(message):
    """Deliver one message: over SMTP when MAIL_SERVER is set, else into instance/outbox/."""
    config = current_app.config
    if message.has_bad_headers():
        raise MailError("line breaks in a header: refused", retryable=False)
    if not config["MAIL_SERVER"]:
        return _write_to_outbox(message)
    # Flask-Mail opens SMTP without a timeout, so a dead server would hang the
    # worker for minutes; talk to the server ourselves with one.
    try:
        data = message.as_bytes()
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"],
                        timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.sendmail(message.sender, message.send_to, data)
    except smtplib.SMTPRecipientsRefused as exc:
        temporary = all(code < 500 for code, _ in exc.recipients.values())
        raise MailError(f"recipient refused: {_codes(exc.recipients)}", retryable=temporary) from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx is permanent by the SMTP rules; 4xx asks us to come back later.
        raise MailError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                        retryable=exc.smtp_code < 500) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{exc.__class__.__name__}: {exc}") from exc
    return message.msgId


def _write_to_outbox(message):
    """Write the message as an .eml file named after its Message-ID."""
    folder = os.path.join(current_app.instance_path, "outbox")
    os.makedirs(folder, exist_ok=True)
    name = message.msgId.strip("<>").split("@")[0] + ".eml"
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(message.as_bytes())
    return message.msgId


def _codes(recipients):
    """'a@b: 550 no such user' for smtplib's refused-recipients dict."""
    return "; ".join(f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in recipients.items())


def _text(value):
    """SMTP replies are bytes; show them as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
