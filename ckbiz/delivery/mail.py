"""Sending e-mail: Flask-Mail messages over SMTP with a timeout and kept connections, or
.eml files in the outbox when no server is set.

Every e-mail is a `flask_mail.Message` (attachments come with it). Flask-Mail's own
sending does not fit a worker: it opens SMTP without a timeout, so a dead server hangs
the thread for minutes, and `mail.send()` opens and QUITs a connection per message. Its
`Connection` is used here with a timeout, and kept per thread between messages.
"""
import os
import smtplib
import threading
import time
from email import charset, policy
from email.header import Header
from email.mime.text import MIMEText
from email.utils import parseaddr

import flask_mail
from flask import current_app
from flask_mail import BadHeaderError, Connection

from .. import extensions


class MailError(Exception):
    """A message the server did not take; retryable tells whether later may work."""

    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.retryable = retryable


BASE64_UTF8 = charset.Charset("utf-8")
BASE64_UTF8.body_encoding = charset.BASE64
class SmtpPolicy(policy.Compat32):
    """The email package's first policy, with SMTP's line ends, writing a header that fits on
    its line as it is.

    Flask-Mail writes with policy.SMTP, whose generator parses every header again to refold
    it: most of the 2.3 ms a message took to build. Our headers are ASCII or encoded words
    already (the subject is made one below); compat32 would still put each through a Header
    to fold it, when nearly all of them fit on one line.
    """

    def fold_binary(self, name, value):
        """The header's line; one that needs folding is folded by compat32."""
        line = f"{name}: {value}" if isinstance(value, str) else ""
        if line and line.isascii() and len(line) <= self.max_line_length and not ("\r" in line or "\n" in line):
            return (line + self.linesep).encode("ascii")
        return super().fold_binary(name, value)


SMTP_POLICY = SmtpPolicy(linesep="\r\n")


class Message(flask_mail.Message):
    """A flask_mail.Message whose text parts are base64, so any SMTP server takes it, written
    with SMTP_POLICY.

    Flask-Mail writes UTF-8 text unencoded (8bit), which a server need take only after
    8BITMIME is declared, and only in lines of at most 998 octets: a merchant's comment of
    a thousand Cyrillic letters is one 2000-octet line, and servers refused the whole
    message (500 Line too long).
    """

    def _mimetext(self, text, subtype="plain"):
        """A text part of the message, in base64."""
        return MIMEText(text, subtype, BASE64_UTF8)

    def _message(self):
        """Flask-Mail's MIME tree, to be written with SMTP_POLICY.

        Flask-Mail stores the subject as encoded words already; the old policy would fold
        those again as if they were text (a blank first line, a space the reader sees), so
        the subject is given as a Header of the text itself.
        """
        message = super()._message()
        message.policy = SMTP_POLICY
        message.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return message


def build(subject, recipient, text, html, message_id):
    """A flask_mail.Message with text and HTML alternatives and the delivery's stable Message-ID.

    Values that go into headers are checked here, so a crafted address cannot add a header,
    and a message that can never be written fails for good instead of being retried.
    """
    # Flask-Mail refuses a line break in the subject; a subject is made of typed names, so
    # keep its words on one line instead of failing the e-mail.
    message = Message(" ".join(subject.split()), recipients=[recipient], body=text, html=html,
                      sender=current_app.config["MAIL_DEFAULT_SENDER"])
    # Flask-Mail makes a new Message-ID per Message; the delivery's own one makes every
    # attempt the same message to the receiving side, and names the outbox file.
    message.msgId = message_id
    if message.has_bad_headers() or "\r" in message_id or "\n" in message_id:
        raise MailError("line breaks in a header: refused", retryable=False)
    message.recipients = [_ascii_address(recipient)]
    envelope_sender(message)  # a sender that would need SMTPUTF8 is refused here, once
    return message


def envelope_sender(message):
    """The MAIL FROM address of a message: its sender's address, domain in IDNA."""
    return _ascii_address(parseaddr(message.sender)[1])


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
    """Deliver one message: over SMTP when MAIL_SERVER is set, else into instance/outbox/.

    Returns its Message-ID; raises MailError, retryable or not, when it did not go.
    """
    config = current_app.config
    if not config["MAIL_SERVER"]:
        return _write_to_outbox(message)
    try:
        _send_over_smtp(config, message)
    except BadHeaderError as exc:
        raise MailError("line breaks in a header: refused", retryable=False) from exc
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


class TimedConnection(Connection):
    """Flask-Mail's connection, opened with MAIL_TIMEOUT on the connect and every command.

    Its settings come from the app's config as it is now, not from what Flask-Mail took at
    init_app: MAIL_TIMEOUT is not one of its keys, and its MAIL_SUPPRESS_SEND (app.testing
    by default) only applies to `with mail.connect()`, which is not used. MAIL_SERVER alone
    decides between SMTP and the outbox.
    """

    def __init__(self, config):
        """Flask-Mail's settings read from `config` now; the connection is opened by open()."""
        # MAIL_DEBUG would default to app.debug: smtplib's dialogue, AUTH included, on
        # stderr whenever the app runs in debug mode. Only when MAIL_DEBUG asks for it.
        super().__init__(extensions.mail.init_mail(config, False, current_app.testing))
        self.timeout = config["MAIL_TIMEOUT"]

    def configure_host(self):
        """A connected, greeted and logged-in SMTP client that gives up after the timeout.

        Flask-Mail's own passes no timeout, so a server that accepts and never answers
        would hold the worker for minutes; Flask-Mail also calls this after MAIL_MAX_EMAILS.
        """
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(self.mail.debug))
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def open(self):
        """Connect; returns self."""
        self.host = self.configure_host()
        return self

    def close(self):
        """Drop the connection without QUIT: after a timeout, a QUIT would wait out another one."""
        if self.host is not None:
            self.host.close()
            self.host = None


# Each sending thread keeps its SMTP connection for the next message: a new one costs
# a TCP handshake, EHLO, maybe STARTTLS and AUTH, which is most of the time of a small
# message. Servers drop idle clients after a minute or more; past IDLE_SECONDS we
# close ours rather than find out.
IDLE_SECONDS = 30
_kept = threading.local()


def _send_over_smtp(config, message):
    """Send on this thread's open connection, or on a new one (kept for the next message)."""
    key = tuple(config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_SSL", "MAIL_USE_TLS", "MAIL_USERNAME",
                                    "MAIL_TIMEOUT"))
    sender = envelope_sender(message)
    connection = _take_kept(key)
    if connection is not None:
        try:
            connection.send(message, sender)
        except BaseException as exc:
            connection.close()
            if not _closing(exc):
                raise
            # The server closed, or is closing, the kept connection without taking the
            # message: that says nothing about the server; send it on a fresh one now.
        else:
            return _keep(key, connection)
    connection = TimedConnection(config).open()
    try:
        connection.send(message, sender)
    except BaseException:
        connection.close()
        raise
    _keep(key, connection)


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


def _take_kept(key):
    """This thread's kept connection to the same server, if it is fresh enough."""
    kept = getattr(_kept, "connection", None)
    _kept.connection = None
    if kept is None:
        return None
    kept_key, connection, since = kept
    if kept_key != key or time.monotonic() - since > IDLE_SECONDS:
        connection.close()
        return None
    return connection


def _keep(key, connection):
    """Remember the connection for this thread's next message."""
    _kept.connection = (key, connection, time.monotonic())


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
