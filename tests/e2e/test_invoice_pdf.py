"""«Скачать счет (PDF)» in Chromium: the payer, from the e-mailed link, gets the «Счет на оплату»."""
import pytest

from .conftest import issue, payer_link, unique_email, unique_key

pytestmark = pytest.mark.e2e


def test_the_payer_downloads_the_invoice_pdf(page, live, payer_phone_page):
    payer = unique_email("pdf")
    number = issue(page, live, unique_key(), email=payer, amount="1500")
    phone = payer_phone_page
    phone.goto(payer_link(live.mail.wait(payer)))
    with phone.expect_download() as started:
        phone.get_by_role("link", name="Скачать счет (PDF)").tap()
    download = started.value
    assert download.suggested_filename == f"schet-{number}.pdf"
    with open(download.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    response = phone.request.get(download.url)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
