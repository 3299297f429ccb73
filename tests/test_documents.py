"""The «Счет на оплату» PDF: what it says (pdftotext), its QR (pdftoppm + zxing), its pages, who may
download it, and the e-mail attachment through a real SMTP server."""
import io
import subprocess
from decimal import Decimal

import pytest
from PIL import Image

from ckbiz.documents import amount_in_words
from ckbiz.domain import qr
from ckbiz.domain.positions import line_amount
from ckbiz.extensions import db
from ckbiz.models import Invoice, Merchant
from conftest import csrf_token
from factories import make_invoice, other_merchant, team_member

pytestmark = pytest.mark.db

BUYER = {"name": "ООО «Покупатель»", "inn": "7707083893", "kpp": "773601001"}


def position(name, quantity, price_kop, vat="20", unit="шт."):
    """A stored position, as domain.positions.clean_positions makes it."""
    return {"name": name, "quantity": quantity, "unit": unit, "price_kop": price_kop, "vat": vat,
            "amount_kop": line_amount(Decimal(quantity), price_kop)}


def pdf_text(data):
    """The PDF's text as poppler lays it out, no-break spaces made plain."""
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    return text.decode("utf-8").replace("\u00a0", " ")


def page_count(data, tmp_path):
    """Pages of the PDF, by pdfinfo."""
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def download(client, invoice):
    """The merchant's PDF of the invoice; asserts it is one."""
    response = client.get(f"/invoices/{invoice.number}.pdf")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF-")
    return response.get_data()


def fresh(app, invoice):
    with app.app_context(), db.connection_context():
        return Invoice.select(Invoice, Merchant).join(Merchant).where(Invoice.id == invoice.id).get()


@pytest.mark.parametrize("kopecks,words", [
    (150000, "Одна тысяча пятьсот рублей 00 копеек"),
    (1, "Ноль рублей 01 копейка"),
    (2101, "Двадцать один рубль 01 копейка"),
    (123456789, "Один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 89 копеек"),
])
def test_the_amount_in_words(kopecks, words):
    assert amount_in_words(kopecks) == words


def test_the_pdf_holds_the_requisites_number_amounts_and_words(app, logged_in, merchant):
    lines = [position("Консультация", "2", 50000), position("Доставка", "1", 50000, vat="none", unit="усл.")]
    invoice = make_invoice(app, merchant, amount_kop=150000, positions=lines, payer_org=BUYER)
    response = logged_in.get(f"/invoices/{invoice.number}.pdf")
    assert response.headers["Content-Disposition"] == f"inline; filename=schet-{invoice.number}.pdf"
    text = pdf_text(download(logged_in, invoice))
    payee = invoice.issued_with["payee"]
    for value in (payee["bank_name"], payee["bik"], payee["corr_account"], payee["account"],
                  f"ИНН {payee['inn']}", f"КПП {payee['kpp']}", payee["recipient"], "Банк получателя", "Получатель"):
        assert value in text, value
    assert f"Счет на оплату № {invoice.number} от " in text
    assert "Поставщик" in text and f"{payee['name']}, ИНН {payee['inn']}, КПП {payee['kpp']}" in text
    assert "Покупатель" in text and "ООО «Покупатель», ИНН 7707083893, КПП 773601001" in text
    for heading in ("Товары (работы, услуги)", "Кол-во", "Ед.", "Цена", "Сумма"):
        assert heading in text
    assert "Консультация" in text and "500,00" in text and "1 000,00" in text and "Доставка" in text
    assert "Итого: 1 500,00" in " ".join(text.split())
    assert "В том числе НДС: 166,67" in " ".join(text.split())  # 1000 × 20/120, the «Без НДС» line adds none
    assert "Всего к оплате: 1 500,00" in " ".join(text.split())
    assert "Всего наименований 2, на сумму 1 500,00 руб." in text
    assert "Одна тысяча пятьсот рублей 00 копеек" in text
    assert "Руководитель" in text and "Бухгалтер" in text
    assert f"В назначении платежа укажите: «Оплата по счету № {invoice.number}, ЛИЦ. СЧЕТ 34234234»" in text


def test_the_qr_on_the_page_decodes_to_the_payer_pages_payload(app, logged_in, merchant, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    invoice = make_invoice(app, merchant, amount_kop=150000, payer_org=BUYER)
    (tmp_path / "invoice.pdf").write_bytes(download(logged_in, invoice))
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(tmp_path / "invoice.pdf"),
                    str(tmp_path / "page")], check=True)
    [code] = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert code.text == qr.for_invoice(fresh(app, invoice))
    assert "|Sum=150000|" in code.text


def test_without_positions_one_line_names_the_service(app, logged_in, merchant):
    invoice = make_invoice(app, merchant, amount_kop=20000)
    text = pdf_text(download(logged_in, invoice))
    assert invoice.issued_with["service"]["title"] in text
    assert "Всего наименований 1, на сумму 200,00 руб." in text
    assert "Без налога (НДС)" in text and "Двести рублей 00 копеек" in text


def test_25_positions_flow_onto_a_second_page_with_the_heading_again(app, logged_in, merchant, tmp_path):
    # Names of two lines each: the table itself is too long for one page.
    lines = [position(f"Товар номер {n}, поставка по договору с длинным наименованием и его условиями", "1", 10000)
             for n in range(1, 26)]
    invoice = make_invoice(app, merchant, amount_kop=250000, positions=lines)
    data = download(logged_in, invoice)
    assert page_count(data, tmp_path) == 2
    text = pdf_text(data)
    assert text.count("Товары (работы, услуги)") == 2
    assert f"Счет на оплату № {invoice.number} от " in text and ", продолжение" in text
    assert "Товар номер 1," in text and "Товар номер 25," in text
    assert "Всего наименований 25, на сумму 2 500,00 руб." in text


def test_fifteen_positions_fit_on_one_page(app, logged_in, merchant, tmp_path):
    lines = [position(f"Услуга по договору с длинным наименованием, этап {n}", "1.5", 10000) for n in range(15)]
    invoice = make_invoice(app, merchant, amount_kop=sum(p["amount_kop"] for p in lines), positions=lines)
    assert page_count(download(logged_in, invoice), tmp_path) == 1


def test_a_sole_trader_payee_has_a_12_digit_inn_and_no_kpp(app, logged_in, merchant):
    invoice = make_invoice(app, merchant)
    payee = {**invoice.issued_with["payee"], "name": "ИП Иванов Иван Иванович", "inn": "500100732259", "kpp": ""}
    invoice = make_invoice(app, merchant, issued_with={**invoice.issued_with, "payee": payee})
    text = pdf_text(download(logged_in, invoice))
    assert "ИП Иванов Иван Иванович, ИНН 500100732259" in text
    assert "КПП 7" not in text
    # Without an organisation, the buyer is the payer as the merchant knows them.
    assert "ЛИЦ. СЧЕТ 34234234, +7 902 637-65-77, payer@example.com" in text


@pytest.mark.parametrize("status", ["issued", "expired", "paid", "transferred"])
def test_the_payer_downloads_it_without_logging_in(app, client, merchant, status):
    invoice = make_invoice(app, merchant, status=status)
    page = client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert f'href="/i/{invoice.token}/invoice.pdf"' in page and "Скачать счет (PDF)" in page
    response = client.get(f"/i/{invoice.token}/invoice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF-")
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert f"filename=schet-{invoice.number}.pdf" in response.headers["Content-Disposition"]


def test_a_cancelled_invoice_has_no_pdf_for_the_payer(app, client, merchant):
    invoice = make_invoice(app, merchant, status="cancelled")
    assert "Скачать счет (PDF)" not in client.get(f"/i/{invoice.token}").get_data(as_text=True)
    assert client.get(f"/i/{invoice.token}/invoice.pdf").status_code == 404
    assert client.get("/i/AAAAAAAAAAAAAAAAAAAAAAAA/invoice.pdf").status_code == 404


def test_the_merchant_route_is_the_merchants_own(app, client, auth, merchant):
    mine = make_invoice(app, merchant)
    assert client.get(f"/invoices/{mine.number}.pdf").status_code in (302, 303)  # to the login page
    theirs = make_invoice(app, other_merchant(app))
    auth.login()
    assert client.get(f"/invoices/{theirs.number + 1}.pdf").status_code == 404
    assert auth.logout().status_code in (302, 303)
    assert auth.login("9037778899", "other password").status_code == 303
    assert client.get(f"/invoices/{theirs.number}.pdf").status_code == 200
    with app.app_context(), db.connection_context():
        cancelled = Invoice.update(status="cancelled").where(Invoice.id == theirs.id).execute()
    assert cancelled and client.get(f"/invoices/{theirs.number}.pdf").status_code == 200


def test_a_viewer_can_download_it_and_the_dialog_links_it(app, client, auth, merchant):
    invoice = make_invoice(app, merchant)
    team_member(app, merchant, "9165551212", "viewer")
    assert auth.login("9165551212", "member password").status_code == 303
    download(client, invoice)
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert f'href="/invoices/{invoice.number}.pdf"' in page and "Скачать счет (PDF)" in page


def attach_pdf(app, merchant, on=True, copy_email=None):
    with app.app_context(), db.connection_context():
        Merchant.update(attach_pdf=on, copy_invoices=bool(copy_email), copy_email=copy_email or "").where(
            Merchant.id == merchant.id).execute()


def pdf_parts(message):
    return [part for part in message.walk() if part.get_content_type() == "application/pdf"]


def test_the_invoice_email_carries_the_pdf_when_the_merchant_asks(app, logged_in, merchant, smtp):
    attach_pdf(app, merchant, copy_email="me@shop.example")
    invoice = make_invoice(app, merchant, amount_kop=150000)
    assert sorted(r[0] for _, r, _ in smtp.messages) == ["me@shop.example", "payer@example.com"]
    for _, _, message in smtp.messages:  # the payer's and the merchant's copy
        [part] = pdf_parts(message)
        assert part.get_filename() == f"schet-{invoice.number}.pdf"
        assert part.get_content_disposition() == "attachment"
        data = part.get_content()
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
        assert f"Счет на оплату № {invoice.number}" in pdf_text(data)
    token = csrf_token(logged_in, f"/invoices/{invoice.number}")
    assert logged_in.post(f"/invoices/{invoice.number}/remind", data={"csrf_token": token}).status_code == 303
    reminder = smtp.messages[-1][2]
    assert reminder["Subject"].startswith("Напоминание") and len(pdf_parts(reminder)) == 1


def test_no_attachment_when_the_setting_is_off(app, logged_in, merchant, smtp):
    attach_pdf(app, merchant, on=False)
    make_invoice(app, merchant)
    [(_, _, message)] = smtp.messages
    assert pdf_parts(message) == []
