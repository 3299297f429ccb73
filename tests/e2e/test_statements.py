"""«Выписки» in a browser: from the bank's 1C export to paid invoices in one upload, then a
suggestion confirmed by hand."""
import secrets

import pytest
from playwright.sync_api import expect

from statement_files import Payment, statement_file

from .conftest import issue, unique_key

pytestmark = pytest.mark.e2e


def test_an_upload_pays_an_invoice_and_a_confirmed_suggestion_pays_another(page, live, tmp_path):
    # Amounts no other test issues, so «совпадает только сумма» finds exactly one invoice.
    exact, alone = (f"{secrets.randbelow(900_000) + 100_000}.{secrets.randbelow(90) + 10}" for _ in range(2))
    paid = issue(page, live, unique_key(), email="stmt@example.com", amount=exact)
    suggested = issue(page, live, unique_key(), email="stmt@example.com", amount=alone)
    order = str(secrets.randbelow(10**6))
    path = tmp_path / "kl_to_1c.txt"
    path.write_bytes(statement_file([Payment(number=order, amount=exact, purpose=f"Оплата по счету № {paid}"),
                                     Payment(number=order + "1", amount=alone, purpose="за услуги по договору")]))

    page.goto(live.url("/invoices"))
    page.get_by_role("link", name="Выписки").click()
    page.get_by_label("Файл выписки").set_input_files(str(path))
    page.get_by_role("button", name="Загрузить выписку").click()
    expect(page.locator(".flash-success")).to_have_text("Оплачено: 1, предложено: 1, не найдено: 0.")
    expect(page.locator("#paid")).to_contain_text(f"№ {paid}")
    row = page.locator("#suggested tr", has_text=f"№ {suggested}")
    expect(row).to_contain_text("совпадает только сумма")

    row.get_by_role("button", name="Подтвердить").click()
    expect(page.locator("#toast")).to_have_text("Платеж подтвержден: счет оплачен переводом.")
    expect(page.locator("#paid")).to_contain_text(f"№ {suggested}")
    page.goto(live.url(f"/invoices/{suggested}"))
    expect(page.locator(".status").first).to_contain_text("оплачен (переводом)")
