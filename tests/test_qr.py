"""The payment QR code: exact GOST R 56042-2014 payload, validation, and a decode round trip."""
import io

import pytest

from ckbiz.domain import qr

PAYEE = {
    "name": "Демо-организация",
    "account": "40702810200000012345",
    "bank_name": "ПАО Сбербанк",
    "bik": "044525225",
    "corr_account": "30101810400000000225",
    "inn": "7701000001",
    "kpp": "770101001",
}
PURPOSE = qr.purpose_text(41, "ЛИЦ. СЧЕТ", "34234234")


def test_exact_payload():
    assert PURPOSE == "Оплата по счету № 41, ЛИЦ. СЧЕТ 34234234"
    assert qr.payload(PAYEE, 150000, PURPOSE) == (
        "ST00012|Name=Демо-организация|PersonalAcc=40702810200000012345|BankName=ПАО Сбербанк"
        "|BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7701000001|KPP=770101001"
        "|Sum=150000|Purpose=Оплата по счету № 41, ЛИЦ. СЧЕТ 34234234"
    )


def test_empty_kpp_is_omitted():
    text = qr.payload({**PAYEE, "kpp": ""}, 150000, PURPOSE)
    assert "KPP" not in text
    assert "|PayeeINN=7701000001|Sum=150000|" in text


@pytest.mark.parametrize("kopecks", [1, 100, 150000, 10**18 - 1])
def test_sum_is_integer_kopecks(kopecks):
    text = qr.payload(PAYEE, kopecks, PURPOSE)
    field = next(f for f in text.split("|") if f.startswith("Sum="))
    assert field == f"Sum={kopecks}" and "." not in field


def test_separator_switches_when_a_value_contains_pipe():
    text = qr.payload({**PAYEE, "name": "ООО «Труба|Канал»"}, 150000, PURPOSE)
    assert text.startswith("ST00012#Name=ООО «Труба|Канал»#PersonalAcc=")
    assert text.count("#") == 9  # ten fields, no '#' inside any value


def test_line_breaks_become_spaces():
    text = qr.payload(PAYEE, 150000, "первая\r\nвторая\nтретья")
    assert text.endswith("|Purpose=первая вторая третья")


def test_long_values_are_cut():
    long_purpose = "я" * 300
    text = qr.payload({**PAYEE, "name": "N" * 200, "bank_name": "Б" * 60}, 150000, long_purpose)
    assert text.endswith("|Purpose=" + "я" * 160)
    assert "|Name=" + "N" * 160 + "|" in text
    assert "|BankName=" + "Б" * 45 + "|" in text
    assert len(qr.purpose_text(1, "x" * 300, "y")) == 160


@pytest.mark.parametrize("field,value", [
    ("account", "4070281020000001234"),      # 19 characters
    ("account", "00702810200000012345"),     # starts with 0
    ("account", "40702810200000012345\n"),
    ("corr_account", "3010181040000000022Z"),
    ("bik", "04452522"),
    ("bik", "04452522a"),
    ("bik", "٠٤٤٥٢٥٢٢٥"),                     # Arabic-Indic digits are not digits here
])
def test_bad_requisites_raise(field, value):
    with pytest.raises(ValueError):
        qr.payload({**PAYEE, field: value}, 150000, PURPOSE)


@pytest.mark.parametrize("amount", [0, -1, 10.5, 150000.0, "150000", True, 10**18, None])
def test_bad_amount_raises(amount):
    with pytest.raises(ValueError):
        qr.payload(PAYEE, amount, PURPOSE)


def test_png_round_trip_keeps_cyrillic():
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    text = qr.payload(PAYEE, 150000, PURPOSE)
    data = qr.png(text)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(results) == 1
    assert results[0].text == text
    assert results[0].bytes == text.encode("utf-8")
