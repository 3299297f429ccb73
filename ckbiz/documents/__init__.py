"""Documents ckbiz makes for people to keep: the «Счет на оплату» PDF (invoice), in its fonts (fonts)."""
from .invoice import amount_in_words, filename, invoice_pdf

__all__ = ["amount_in_words", "filename", "invoice_pdf"]
