"""Amounts in words on a receipt, worked examples in Romanian."""

from decimal import Decimal as D

import pytest

from recurent.engine.words import amount_in_words_ro, number_in_words_ro


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1234.56", "una mie două sute treizeci și patru lei și cincizeci și șase bani"),
        ("0.01", "zero lei și un ban"),
        ("1", "un leu"),
        ("2.02", "doi lei și doi bani"),
        ("12.12", "doisprezece lei și doisprezece bani"),
        ("21", "douăzeci și unu lei"),
        ("100", "o sută lei"),
        ("101.10", "o sută unu lei și zece bani"),
        ("250", "două sute cincizeci lei"),
        ("1000", "una mie lei"),
        ("2000", "două mii lei"),
        ("12000", "douăsprezece mii lei"),
        ("21001", "douăzeci și una mii unu lei"),
        ("5000", "cinci mii lei"),
        ("10000.99", "zece mii lei și nouăzeci și nouă bani"),
        ("1000000", "un milion lei"),
        ("2000000", "două milioane lei"),
        ("1002003.04", "un milion două mii trei lei și patru bani"),
        ("3000000000", "trei miliarde lei"),
        ("0", "zero lei"),
    ],
)
def test_amounts_read_as_on_a_receipt(amount, words):
    assert amount_in_words_ro(D(amount)) == words


def test_numerals_agree_with_what_they_count():
    assert number_in_words_ro(2, "m") == "doi" and number_in_words_ro(2, "f") == "două"
    assert number_in_words_ro(12, "f") == "douăsprezece"
    assert number_in_words_ro(999) == "nouă sute nouăzeci și nouă"
    assert number_in_words_ro(14) == "paisprezece" and number_in_words_ro(16) == "șaisprezece"


def test_unrounded_or_negative_amounts_are_refused():
    with pytest.raises(ValueError, match="round"):
        amount_in_words_ro(D("1.005"))
    with pytest.raises(ValueError, match="negative"):
        amount_in_words_ro(D("-1"))
    with pytest.raises(ValueError):
        number_in_words_ro(10**12)
