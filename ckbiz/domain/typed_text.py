"""What every typed value goes through before anything reads it (forms, requisites, amounts, the API).

Invisible characters (zero-width spaces, the BOM, soft hyphens, direction marks: Unicode
category Cf) are removed, so a name made only of them is empty and "required" says so; a
pasted ИНН with a zero-width space inside reads as its digits. The zero-width joiner stays
between visible characters because emoji sequences need it.

Digits of other scripts (fullwidth «１２３», Arabic-Indic «١٢٣», …) are the same digits typed
on another keyboard: `digits_ascii` writes them as 0–9 rather than refusing, so an amount
«１２３» is 123 and a month «04.20١٦» is stored as «04.2016», never with the foreign digits.
"""
import unicodedata

_JOINER = "\u200d"


def visible(value):
    """The text without invisible characters and without surrounding spaces; non-text as is."""
    if not isinstance(value, str):
        return value
    kept = "".join(ch for ch in value if ch == _JOINER or unicodedata.category(ch) != "Cf")
    return kept.strip().strip(_JOINER).strip()


def digits_ascii(value):
    """`visible` text with every decimal digit of any script written as an ASCII digit."""
    text = visible(str(value if value is not None else ""))
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch
                   for ch in text)
