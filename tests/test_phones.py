"""Phone normalisation: every common spelling of a Russian mobile is 9XXXXXXXXX."""
import pytest

from ckbiz.domain import contacts


@pytest.mark.parametrize("raw", ["9026376577", "+79026376577", "89026376577", "+7 902 637-65-77",
                                 "8 (902) 637 65 77", " 902-637-65-77 ", "９０２６３７６５７７"])
def test_spellings_normalise_to_ten_digits(raw):
    assert contacts.normalise_phone(raw) == "9026376577"


@pytest.mark.parametrize("raw", ["", "12345", "abc", "+7 701 123 45 67", "+7 495 123-45-67",
                                 "+1 202 555 0100", "9026376577777"])
def test_non_russian_mobiles_are_refused(raw):
    with pytest.raises(contacts.PhoneError):
        contacts.normalise_phone(raw)


