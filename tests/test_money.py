"""Money is exact: amounts parse to kopecks, commission rounds half-up and clamps."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckbiz import formatting
from ckbiz.domain import money

MAX = Decimal("1000000.00")


@pytest.mark.parametrize("text,kopecks", [("100", 10000), ("100.50", 10050), ("100,50", 10050),
                                          ("100,5", 10050), ("0.01", 1), ("1 000 000", 100000000),
                                          ("1\u00a0234,56", 123456)])
def test_amounts_parse_to_kopecks(text, kopecks):
    assert money.parse_amount(text, MAX) == kopecks


@pytest.mark.parametrize("text", ["", "0", "0.00", "-5", "abc", "1.001", "1e3", "NaN", "Infinity",
                                  "1000000.01", "999999999999.99", "1,2,3", ".5"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(money.AmountError):
        money.parse_amount(text, MAX)


def test_commission_example_of_the_design():
    assert money.commission(10000, 150) == 150  # 100.00 at 1.5 % → 1.50


def test_commission_rounds_half_up_and_clamps():
    assert money.commission(100, 150) == 2  # 1.5 kopecks → 2
    assert money.commission(99, 150) == 1  # 1.485 → 1
    assert money.commission(100, 150, minimum_kop=1000) == 1000
    assert money.commission(10**8, 200, maximum_kop=50000) == 50000


@given(st.integers(min_value=1, max_value=10**8), st.integers(min_value=0, max_value=10000),
       st.integers(min_value=0, max_value=10**5), st.integers(min_value=0, max_value=10**6))
def test_commission_is_exact_in_kopecks(amount, rate, low, extra):
    high = low + extra
    got = money.commission(amount, rate, low, high)
    exact = Decimal(amount) * rate / 10000
    assert low <= got <= high
    if low < exact < high:
        assert abs(Decimal(got) - exact) <= Decimal("0.5")
        assert got == int(exact + Decimal("0.5"))


@given(st.integers(min_value=1, max_value=10**8))
def test_formatted_amounts_parse_back(kopecks):
    """What the pages show and the CSV holds is what the forms take back."""
    assert money.parse_amount(formatting.plain_rubles(kopecks), Decimal(10**6)) == kopecks
    assert money.parse_amount(formatting.rubles(kopecks).removesuffix("\u00a0₽"), Decimal(10**6)) == kopecks


def test_amounts_read_the_russian_way():
    """«1 500,00 ₽» with no-break spaces; the CSV and form fields «1500,00»."""
    assert formatting.rubles(20000) == "200,00\u00a0₽"
    assert formatting.rubles(123456789) == "1\u00a0234\u00a0567,89\u00a0₽"
    assert formatting.plain_rubles(150050) == "1500,50"


@pytest.mark.parametrize("typed", ["1500.50", "1 500,50", "1500,5", "1\u00a0500,50", " 1500,50 "])
def test_forms_take_every_way_people_write_an_amount(typed):
    assert money.parse_amount(typed, Decimal(10**6)) == 150050
