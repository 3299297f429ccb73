"""Requisites validation: Bank of Russia worked examples, error fields and messages."""
import re

import pytest
from hypothesis import given, strategies as st

from ckbiz.domain.requisites import (
    OrganisationErrors, RequisiteError, clean_account, clean_bik, clean_corr_account,
    clean_inn, clean_kpp, clean_organisation,
)

SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


def key_ok(digits):
    """Independent restatement of the 7,1,3 key, so the tests do not trust the module."""
    return sum(int(c) * (7, 1, 3)[i % 3] for i, c in enumerate(digits)) % 10 == 0


def with_key(bik, account):
    """The account with digit 9 (the key) set so that it validates against bik."""
    for d in "0123456789":
        candidate = account[:8] + d + account[9:]
        if key_ok(bik[-3:] + candidate):
            return candidate
    raise AssertionError("no key digit fits")


SBER_ACCOUNT = with_key(SBER_BIK, "40702810?00000001234")


def assert_error(excinfo, field):
    """The error names the field and speaks Russian."""
    assert excinfo.value.field == field
    assert CYRILLIC.search(str(excinfo.value))


# --- ИНН -----------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("7707083893", "7707083893"),
    ("500100732259", "500100732259"),
    (" 7707 083 893 ", "7707083893"),
])
def test_inn_valid(value, expected):
    assert clean_inn(value) == expected


@pytest.mark.parametrize("value", ["", None, "   ", "7707083894", "500100732258", "77070838",
                                   "77070838931", "77070838ab", "７７０７０８３８９４"])
def test_inn_invalid(value):
    with pytest.raises(RequisiteError) as excinfo:
        clean_inn(value)
    assert_error(excinfo, "inn")


def test_inn_checksum_and_length_messages_differ():
    with pytest.raises(RequisiteError) as checksum:
        clean_inn("7707083894")
    with pytest.raises(RequisiteError) as length:
        clean_inn("77070838")
    assert str(checksum.value) == "ИНН: неверная контрольная сумма"
    assert str(length.value) != str(checksum.value)


# --- КПП -----------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("773601001", "773601001"), ("7736AB001", "7736AB001"), ("", ""), (None, ""), ("  ", ""),
])
def test_kpp_valid(value, expected):
    assert clean_kpp(value) == expected


@pytest.mark.parametrize("value", ["77360100", "7736010011", "7736ab001", "7736АВ001",
                                   "A73601001", "77360100X"])
def test_kpp_invalid(value):
    with pytest.raises(RequisiteError) as excinfo:
        clean_kpp(value)
    assert_error(excinfo, "kpp")


# --- БИК -----------------------------------------------------------------

@pytest.mark.parametrize("value", ["049805746", "044525225", " 044 525 225 "])
def test_bik_valid(value):
    assert clean_bik(value) == value.replace(" ", "")


def test_digits_of_other_scripts_are_read_as_ascii_digits():
    """Fullwidth and Arabic-Indic digits are the same digits (domain.typed_text); stored as 0–9."""
    assert clean_inn("７７０７０８３８９３") == "7707083893"
    assert clean_bik("٠٤٤٥٢٥٢٢٥") == "044525225"


@pytest.mark.parametrize("value", ["", None, "04452522", "0445252250", "04452522X",
                                   "144525225", "²44525225"])
def test_bik_invalid(value):
    with pytest.raises(RequisiteError) as excinfo:
        clean_bik(value)
    assert_error(excinfo, "bik")


# --- расчётный счёт ------------------------------------------------------

def test_account_bank_of_russia_example():
    assert clean_account("40602810700000000025", "049805746") == "40602810700000000025"


def test_account_computed_for_sberbank():
    assert SBER_ACCOUNT[8] != "?"
    assert clean_account(SBER_ACCOUNT, SBER_BIK) == SBER_ACCOUNT


@pytest.mark.parametrize("value", ["", None, "4060281070000000002", "406028107000000000250",
                                   "4060281070000000002A", "40602810800000000025"])
def test_account_invalid(value):
    with pytest.raises(RequisiteError) as excinfo:
        clean_account(value, "049805746")
    assert_error(excinfo, "account")


def test_account_checked_against_its_bik():
    with pytest.raises(RequisiteError) as excinfo:
        # Not SBER_BIK: its tail 225 happens to weigh the same as 746 modulo 10.
        clean_account("40602810700000000025", "044525974")
    assert_error(excinfo, "account")


def test_account_with_bad_bik_blames_bik():
    with pytest.raises(RequisiteError) as excinfo:
        clean_account("40602810700000000025", "12345")
    assert_error(excinfo, "bik")


@given(
    bik=st.from_regex(r"\A04[0-9]{7}\Z"),
    body=st.from_regex(r"\A[0-9]{20}\Z"),
    position=st.integers(0, 19),
    shift=st.integers(1, 9),
)
def test_any_single_digit_change_breaks_the_key(bik, body, position, shift):
    account = with_key(bik, body)
    assert clean_account(account, bik) == account
    flipped = (account[:position] + str((int(account[position]) + shift) % 10)
               + account[position + 1:])
    with pytest.raises(RequisiteError) as excinfo:
        clean_account(flipped, bik)
    assert_error(excinfo, "account")


# --- корр. счёт ----------------------------------------------------------

@pytest.mark.parametrize("corr, bik", [
    ("30101810800000000746", "049805000"),  # settlement centre: tail rule waived
    (SBER_CORR, SBER_BIK),
])
def test_corr_account_valid(corr, bik):
    assert clean_corr_account(corr, bik) == corr


@pytest.mark.parametrize("corr", ["", None, "3010181040000000022", "301018104000000002250",
                                  "3010181040000000022X", "30101810500000000225",
                                  "40702810400000000225"])
def test_corr_account_invalid(corr):
    with pytest.raises(RequisiteError) as excinfo:
        clean_corr_account(corr, SBER_BIK)
    assert_error(excinfo, "corr_account")


def test_corr_account_tail_must_match_bank_bik():
    # 044525226 shares digits 5-6 with Sberbank's BIK, so the key passes and only the tail fails.
    with pytest.raises(RequisiteError) as excinfo:
        clean_corr_account(SBER_CORR, "044525226")
    assert_error(excinfo, "corr_account")
    assert "последние 3 цифры" in str(excinfo.value)


# --- организация ---------------------------------------------------------

def organisation(**changes):
    """A valid Sberbank-banked organisation, with `changes` applied."""
    data = {
        "name": "  ООО «Ромашка» ", "inn": "7707083893", "kpp": "773601001",
        "account": SBER_ACCOUNT, "bik": SBER_BIK, "bank_name": "ПАО Сбербанк",
        "corr_account": SBER_CORR, "recipient": "",
    }
    data.update(changes)
    return data


def test_organisation_valid_and_recipient_defaults_to_name():
    out = clean_organisation(organisation())
    assert out["name"] == out["recipient"] == "ООО «Ромашка»"
    assert out["account"] == SBER_ACCOUNT and out["kpp"] == "773601001"


def test_organisation_sole_trader_without_kpp():
    out = clean_organisation(organisation(inn="500100732259", kpp="", recipient="ИП Иванов"))
    assert out["kpp"] == "" and out["recipient"] == "ИП Иванов"


def test_organisation_collects_all_errors():
    with pytest.raises(OrganisationErrors) as excinfo:
        clean_organisation(organisation(name=" ", inn="7707083894", kpp="bad",
                                        account="1" * 20, bank_name="x" * 201,
                                        corr_account="30101810500000000225"))
    errors = excinfo.value.errors
    assert set(errors) == {"name", "inn", "kpp", "account", "bank_name", "corr_account"}
    assert all(CYRILLIC.search(str(m)) for m in errors.values())
    assert str(errors["inn"]) == "ИНН: неверная контрольная сумма"


def test_organisation_long_name_reported_once():
    with pytest.raises(OrganisationErrors) as excinfo:
        clean_organisation(organisation(name="Я" * 201))
    assert set(excinfo.value.errors) == {"name"}


def test_organisation_long_recipient():
    with pytest.raises(OrganisationErrors) as excinfo:
        clean_organisation(organisation(recipient="Я" * 201))
    assert set(excinfo.value.errors) == {"recipient"}


def test_organisation_bad_bik_does_not_blame_accounts():
    with pytest.raises(OrganisationErrors) as excinfo:
        clean_organisation(organisation(bik="12"))
    assert set(excinfo.value.errors) == {"bik"}


def test_organisation_bad_bik_still_checks_account_format():
    with pytest.raises(OrganisationErrors) as excinfo:
        clean_organisation(organisation(bik="12", account="123"))
    assert set(excinfo.value.errors) == {"bik", "account"}
