"""What the invoice views share: the details shown in the page and in the dialog."""
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import InputRequired, Length

from . import messages
from .forms import email_address
from .models import Delivery, InvoiceEvent


class SendForm(FlaskForm):
    """«Отправить счет на почту» (§6.3.1)."""

    email = EmailField(_l("Отправить счет на почту"), validators=[
        InputRequired(_l("Укажите адрес эл. почты")), Length(max=254), email_address])


def invoice_details(invoice):
    """Template context for one invoice: the document, its events, deliveries and forms."""
    return {
        **messages.invoice_context(invoice),
        "tz": current_user.timezone,
        "events": list(invoice.events.order_by(InvoiceEvent.at, InvoiceEvent.id)),
        "deliveries": list(invoice.deliveries.order_by(Delivery.id)),
        "send_form": SendForm(formdata=None),
    }
