"""«История счетов» (§5): search, status filter, pages, totals, CSV."""
import csv
import io

from flask import Blueprint, Response, render_template, request, stream_with_context

from .. import htmx
from ..domain import refunds
from ..domain.lifecycle import STATUS_LABELS, STATUSES
from ..domain.search import Selection
from ..formatting import plain_rubles, datetime_text
from ..models import Invoice, Service
from .access import current_merchant, requires

bp = Blueprint("history", __name__)
PAGE = 50
CSV_COLUMNS = ("Номер", "Услуга", "Ключевой реквизит", "Телефон", "Эл. адрес", "Выставлен",
               "Истекает", "Сумма", "Комиссия", "Статус", "Выставил", "Статус изменил", "Позиций")

# What a history row shows; the JSON copies stay unread.
ROW_COLUMNS = (Invoice.number, Invoice.key_label, Invoice.key_value, Invoice.payer_phone, Invoice.payer_email,
               Invoice.expires_at, Invoice.amount_kop, Invoice.status, Invoice.paid_by, Service.display_name)


def rows(selection, limit):
    """The selected invoices with their service names, newest first, after the cursor."""
    query = selection.invoices(current_merchant, page=limit).join(Service).select(*ROW_COLUMNS)
    return query.order_by(Invoice.number.desc()).limit(limit).objects()


@bp.get("/invoices")
@requires("read")
def index():
    """The history page, or just its results for the live search (htmx)."""
    selection = Selection(request.args, current_merchant.timezone)
    page = list(rows(selection, PAGE + 1))
    context = {"selection": selection, "invoices": page[:PAGE], "statuses": STATUSES,
               "refunds_due": refunds.due(current_merchant),
               "tz": current_merchant.timezone,
               "next_after": page[PAGE - 1].number if len(page) > PAGE else None}
    return htmx.page_or_fragment("history/index.html", "history/_results.html", "history-results", **context)


@bp.get("/invoices/totals")
@requires("read")
def totals_view():
    """Totals by status of the selection, loaded after the rows so the table never waits for them."""
    selection = Selection(request.args, current_merchant.timezone)
    template = "history/_totals.html" if htmx.is_htmx() else "history/totals.html"
    return render_template(template, totals=selection.totals(current_merchant), selection=selection)


@bp.get("/invoices.csv")
@requires("read")
def export():
    """The same selection as CSV for Excel: UTF-8 with BOM, «;», streamed row by row."""
    selection = Selection(request.args, current_merchant.timezone)
    tz = current_merchant.timezone
    query = (selection.invoices(current_merchant).join(Service)
             .select(*ROW_COLUMNS, Invoice.issued_at, Invoice.commission_kop, Invoice.issued_by,
                     Invoice.status_changed_by, Invoice.positions)
             .order_by(Invoice.number.desc()).objects())

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(CSV_COLUMNS)
        yield "\ufeff" + _drain(buffer)
        for invoice in query.iterator():
            writer.writerow([_cell(v) for v in _csv_values(invoice, tz)])
            yield _drain(buffer)

    headers = {"Content-Disposition": "attachment; filename=invoices.csv"}
    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8", headers=headers)


def _csv_values(invoice, tz):
    """One CSV line's values for an invoice."""
    return (invoice.number, invoice.display_name, f"{invoice.key_label}: {invoice.key_value}",
            invoice.payer_phone or "", invoice.payer_email or "", datetime_text(invoice.issued_at, tz),
            datetime_text(invoice.expires_at, tz), plain_rubles(invoice.amount_kop),
            plain_rubles(invoice.commission_kop), str(STATUS_LABELS[invoice.status]), invoice.issued_by,
            invoice.status_changed_by, len(invoice.positions))


def _cell(value):
    """Text that Excel would run as a formula gets a leading apostrophe."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _drain(buffer):
    """What the CSV writer produced since the last call."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
