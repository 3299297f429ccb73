"""Documents ckbiz makes for people to keep: the «Счет на оплату» PDF (invoice), in its fonts (fonts).

The renderer is imported by the first PDF a process makes, not at start: fpdf2 with Pillow and
fontTools, and num2words, hold about 20 MB in every process that imports them, and most web
workers never draw a PDF (docs/benchmarks.md, 2026-12-01).
"""
from importlib import import_module

__all__ = ["amount_in_words", "filename", "invoice_pdf"]


def _renderer():
    return import_module(".invoice", __name__)


def invoice_pdf(invoice):
    """The PDF of the invoice, as bytes."""
    return _renderer().invoice_pdf(invoice)


def amount_in_words(kopecks):
    """«Одна тысяча пятьсот рублей 00 копеек», from whole kopecks."""
    return _renderer().amount_in_words(kopecks)


def filename(invoice):
    """The PDF's file name: «schet-123.pdf» (Latin, so every mail client and browser keeps it)."""
    return f"schet-{invoice.number}.pdf"
