"""The «Счет на оплату» PDF: the standard Russian invoice for a bank transfer, drawn with fpdf2.

Bank block, title, Поставщик and Покупатель, the positions table (its heading repeated on every
page it flows onto), totals, the amount in words, the GOST payment QR and the signature lines.
Fonts: documents.fonts.
"""
import io

from fpdf import FPDF
from num2words import num2words

from .. import formatting
from ..domain import positions, qr
from . import fonts

FONT = "PTSans"
WIDTH = 180  # mm between the 15 mm margins of an A4 page
BANK_WIDTH, QR_SIZE = 146, 32  # the bank block, and the payment QR beside it
LINE = 4.2  # mm per line of 9 pt text
COLUMNS = (8, 86, 18, 14, 27, 27)  # №, name, quantity, unit, price, amount
HEADINGS = ("№", "Товары (работы, услуги)", "Кол-во", "Ед.", "Цена", "Сумма")
ALIGN = ("C", "L", "R", "C", "R", "R")
# Totals, the words, the signatures: kept together on the last page.
FOOTER_HEIGHT = 72
THICK, THIN = 0.6, 0.2


def invoice_pdf(invoice):
    """The PDF of the invoice, as bytes."""
    pdf = _new_document()
    title = f"Счет на оплату № {invoice.number} от {formatting.long_date(invoice.issued_at, invoice.merchant.timezone)}"
    pdf.set_title(title)
    pdf.add_page()
    payee = invoice.issued_with["payee"]
    _bank_block(pdf, payee)
    _payment_qr(pdf, invoice, pdf.get_y())
    _title(pdf, title)
    _party(pdf, "Поставщик\n(Исполнитель):", _payee_text(payee))
    _party(pdf, "Покупатель\n(Заказчик):", _payer_text(invoice))
    lines = positions.lines_of(invoice)
    continued = f"{title}, продолжение"
    _positions_table(pdf, lines, continued)
    if pdf.will_page_break(FOOTER_HEIGHT):
        _next_page(pdf, continued)
    _totals(pdf, invoice, lines)
    _signatures(pdf)
    return bytes(pdf.output())


def _next_page(pdf, caption):
    """A new page that says at its top which invoice it continues."""
    pdf.add_page()
    pdf.set_font(FONT, "", 8)
    pdf.cell(WIDTH, 5, caption, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.ln(2)


def _new_document():
    """An empty A4 document with the fonts added."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_creator("ckbiz")
    fonts.add(pdf, FONT)
    pdf.set_font(FONT, size=9)
    return pdf


def _bank_block(pdf, payee):
    """Банк получателя, БИК, Сч. №, ИНН, КПП, Получатель: the table a bank clerk reads first.

    Drawn with lines and cells rather than fpdf2's table: its spans cost more than the rest of
    the page, and this block's shape never changes.
    """
    x, y = pdf.l_margin, pdf.get_y()
    left, label = BANK_WIDTH - 60, 14
    mid, right = x + left, x + left + label
    bank = _boxed_text(pdf, x, y, left, payee["bank_name"], "Банк получателя")
    row = LINE + 1.6
    kpp = payee.get("kpp") or ""
    _text(pdf, x, y + bank, left / 2, row, f"ИНН {payee['inn']}")
    _text(pdf, x + left / 2, y + bank, left / 2, row, f"КПП {kpp}".strip())
    recipient = _boxed_text(pdf, x, y + bank + row, left, payee.get("recipient") or payee["name"], "Получатель")
    bottom = y + bank + row + recipient
    for top, name, value in ((y, "БИК", payee["bik"]), (y + row, "Сч. №", payee["corr_account"]),
                             (y + bank, "Сч. №", payee["account"])):
        _text(pdf, mid, top, label, row, name)
        _text(pdf, right, top, 60 - label, row, value)
    pdf.set_line_width(THIN)
    pdf.rect(x, y, BANK_WIDTH, bottom - y)
    pdf.line(mid, y, mid, bottom)
    pdf.line(right, y, right, bottom)
    pdf.line(x, y + bank, x + BANK_WIDTH, y + bank)
    pdf.line(mid, y + row, x + BANK_WIDTH, y + row)
    pdf.line(x, y + bank + row, mid, y + bank + row)
    pdf.line(x + left / 2, y + bank, x + left / 2, y + bank + row)
    pdf.set_xy(x, bottom)


def _boxed_text(pdf, x, y, width, text, caption):
    """A name over its caption («Банк получателя»), in a box at least two lines tall; its height."""
    pdf.set_xy(x, y + 0.8)
    pdf.multi_cell(width, LINE, text, new_x="LEFT", new_y="NEXT")
    height = max(pdf.get_y() - y + LINE + 1.6, 3 * LINE + 1.6)
    _text(pdf, x, y + height - LINE - 0.8, width, LINE, caption)
    return height


def _text(pdf, x, y, width, height, text, align="L"):
    """One line of text in a box at (x, y), vertically centred; the box is drawn by its caller."""
    pdf.set_xy(x, y)
    pdf.cell(width, height, text, align=align)


def _payment_qr(pdf, invoice, bank_bottom):
    """The GOST payment QR beside the bank block: the payer's bank app fills the transfer from it.

    One pixel a module: an image not marked for interpolation is scaled up without smoothing, so
    the modules print sharp, and a small image is the quickest to embed (vector squares, one per
    run of modules, took 12 ms a PDF; a PNG of 4 pixels a module 7 ms; this one 3 ms).
    """
    x, top = pdf.l_margin + WIDTH - QR_SIZE, pdf.t_margin
    pdf.image(io.BytesIO(qr.png(qr.for_invoice(invoice), scale=1)), x=x, y=top, w=QR_SIZE, h=QR_SIZE)
    pdf.set_font(FONT, "", 6.5)
    pdf.set_xy(x, top + QR_SIZE)
    pdf.multi_cell(QR_SIZE, 2.8, "Оплата по QR-коду\nв приложении банка", align="C")
    pdf.set_font(FONT, "", 9)
    pdf.set_y(max(pdf.get_y(), bank_bottom))


def _title(pdf, title):
    """«Счет на оплату № N от 27 ноября 2026 г.» (dated in the merchant's zone) over a thick rule."""
    pdf.ln(5)
    pdf.set_font(FONT, "B", 14)
    pdf.cell(WIDTH, 8, title, new_x="LMARGIN", new_y="NEXT")
    _rule(pdf, THICK)
    pdf.ln(3)


def _rule(pdf, width):
    """A horizontal line across the page at the current position."""
    pdf.set_line_width(width)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + WIDTH, pdf.get_y())
    pdf.set_line_width(THIN)


def _party(pdf, label, text):
    """One «Поставщик» / «Покупатель» line: the label, then the name and requisites in bold."""
    top = pdf.get_y()
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(28, LINE, label, new_x="RIGHT", new_y="TOP")
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(WIDTH - 28, LINE, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + 2 * LINE) + 2)


def _payee_text(payee):
    """«ООО Ромашка, ИНН 7701000001, КПП 770101001, адрес»; an ИП has no КПП."""
    return _requisites(payee["name"], payee.get("inn"), payee.get("kpp"), payee.get("address"))


def _payer_text(invoice):
    """The payer organisation when the invoice names one, else who the payer is to the merchant."""
    org = invoice.payer_org
    if org:
        return _requisites(org["name"], org.get("inn"), org.get("kpp"))
    contact = [f"{invoice.key_label} {invoice.key_value}".strip(), formatting.phone(invoice.payer_phone),
               invoice.payer_email]
    return ", ".join(part for part in contact if part)


def _requisites(name, inn, kpp, address=None):
    """Name, ИНН, КПП, address: the parts there are, joined by commas."""
    parts = [name, inn and f"ИНН {inn}", kpp and f"КПП {kpp}", address]
    return ", ".join(part for part in parts if part)


def _positions_table(pdf, lines, continued):
    """№, Товары (работы, услуги), Кол-во, Ед., Цена, Сумма; the heading repeats on each new page.

    Only the name wraps; the other columns are single cells (fpdf2's table measures and wraps
    every cell twice, which took 4 ms a row).
    """
    pdf.ln(1)
    top = _table_heading(pdf)
    for number, line in enumerate(lines, 1):
        names = _wrapped(pdf, line.name, COLUMNS[1])
        cells = (str(number), names, _quantity(line.quantity), line.unit,
                 formatting.grouped_rubles(line.price_kop), formatting.grouped_rubles(line.amount_kop))
        height = len(names) * LINE + 1.6
        if pdf.will_page_break(height):
            _outline(pdf, top)
            _next_page(pdf, continued)
            top = _table_heading(pdf)
        _table_row(pdf, cells, height, ALIGN)
    _outline(pdf, top)
    pdf.ln(2)


def _wrapped(pdf, text, width):
    """The lines text takes in a cell of this width, broken between words.

    Measured word by word: fpdf2's line breaker (multi_cell) takes 1 ms a name, four times as
    long. A word wider than the cell is left to it, as it knows how to break inside a word.
    """
    room = width - 2 * pdf.c_margin
    lines, line = [], ""
    for word in text.split(" "):
        longer = f"{line} {word}" if line else word
        if pdf.get_string_width(longer) <= room:
            line = longer
        elif pdf.get_string_width(word) > room:
            return pdf.multi_cell(width, LINE, text, dry_run=True, output="LINES")
        else:
            lines.append(line)
            line = word
    return [*lines, line]


def _table_heading(pdf):
    """The heading row, shaded and bold; returns where the table starts on this page."""
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 9)
    pdf.set_fill_color(235, 235, 235)
    _table_row(pdf, HEADINGS, LINE + 2, "C" * len(HEADINGS), fill=True)
    pdf.set_font(FONT, "", 9)
    return top


def _table_row(pdf, cells, height, align, fill=False):
    """One bordered row; a cell given as a list of lines has them one under another."""
    x, y = pdf.l_margin, pdf.get_y()
    for width, text, side in zip(COLUMNS, cells, align):
        pdf.rect(x, y, width, height, style="DF" if fill else "D")
        if isinstance(text, list):
            for index, part in enumerate(text):
                _text(pdf, x, y + 0.8 + index * LINE, width, LINE, part, side)
        else:
            _text(pdf, x, y, width, height, text, side)
        x += width
    pdf.set_xy(pdf.l_margin, y + height)


def _outline(pdf, top):
    """The table's thick outline, from top to here on this page."""
    pdf.set_line_width(THICK)
    pdf.rect(pdf.l_margin, top, WIDTH, pdf.get_y() - top)
    pdf.set_line_width(THIN)


def _quantity(quantity):
    """«2», «1,5», «0,125»: no trailing zeros, a decimal comma."""
    return format(quantity.normalize(), "f").replace(".", ",") if quantity % 1 else str(int(quantity))


def _totals(pdf, invoice, lines):
    """Итого, НДС, Всего к оплате on the right; the count, the amount in words, the due date and purpose below."""
    vat = positions.vat_total(invoice)
    total = formatting.grouped_rubles(invoice.amount_kop)
    rows = (("Итого:", total),
            ("В том числе НДС:", formatting.grouped_rubles(vat)) if vat is not None else ("Без налога (НДС)", "—"),
            ("Всего к оплате:", total))
    pdf.set_font(FONT, "B", 9)
    for label, value in rows:
        pdf.set_x(pdf.l_margin + WIDTH - 27 - 60)
        pdf.cell(60, 5, label, align="R")
        pdf.cell(27, 5, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FONT, "", 9)
    pdf.cell(WIDTH, 5, f"Всего наименований {len(lines)}, на сумму {total} руб.", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(WIDTH, 5, amount_in_words(invoice.amount_kop), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _rule(pdf, THICK)
    pdf.ln(2)
    pdf.set_font(FONT, "", 8)
    # What the merchant needs to find the transfer in a bank statement, and until when it is due.
    purpose = qr.purpose_text(invoice.number, invoice.key_label, invoice.key_value)
    due = formatting.long_date(invoice.expires_at, invoice.merchant.timezone)
    pdf.multi_cell(WIDTH, 4, f"Оплатить не позднее {due} В назначении платежа укажите: «{purpose}».",
                   new_x="LMARGIN", new_y="NEXT")


def amount_in_words(kopecks):
    """«Одна тысяча пятьсот рублей 00 копеек»: num2words counts whole kopecks, never a float."""
    words = num2words(kopecks, lang="ru", to="currency", currency="RUB", cents=False, separator="")
    return words[:1].upper() + words[1:]


def _signatures(pdf):
    """Lines for Руководитель and Бухгалтер to sign, each with a place for the name."""
    pdf.ln(12)
    top = pdf.get_y()
    half = WIDTH / 2
    for offset, role in ((0, "Руководитель"), (half + 5, "Бухгалтер")):
        x = pdf.l_margin + offset
        pdf.set_xy(x, top)
        pdf.set_font(FONT, "B", 9)
        pdf.cell(24, 5, role)
        pdf.line(x + 24, top + 4.5, x + half - 10, top + 4.5)
        pdf.set_font(FONT, "", 6.5)
        pdf.set_xy(x + 24, top + 5)
        pdf.cell(half - 34, 3, "подпись, расшифровка подписи", align="C")
