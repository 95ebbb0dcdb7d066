"""Amounts in words, in Romanian, as a cash receipt (chitanță) states them.

    amount_in_words_ro(Decimal("1234.56"))
    -> "una mie două sute treizeci și patru lei și cincizeci și șase bani"

Conventions (those of Romanian receipts and cheques, as in the worked example above):
- the thousand is "una mie", so that the text cannot be lengthened in front; hundreds are
  "o sută", "două sute"; millions "un milion", "două milioane"; milliards likewise;
- numerals agree with what they count: lei and bani are masculine ("doi lei", "un ban"),
  mii feminine ("două mii", "douăzeci și una mii"), milioane and miliarde neuter ("două
  milioane", "douăzeci și unu milioane");
- no "de" before the unit ("douăzeci lei"), the compact form documents use;
- zero bani are not written; zero lei with bani are ("zero lei și cincizeci bani").
Pure: no Django, no rounding (the amount comes rounded by ``money.round_money``).
"""

from __future__ import annotations

from decimal import Decimal

_UNITS = {
    # value: (masculine, feminine, neuter) forms where they differ
    1: ("unu", "una", "unu"),
    2: ("doi", "două", "două"),
}
_SIMPLE = ["zero", "", "", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă"]
_TEENS = ["zece", "unsprezece", "", "treisprezece", "paisprezece", "cincisprezece",
          "șaisprezece", "șaptesprezece", "optsprezece", "nouăsprezece"]  # fmt: skip
_TENS = ["", "", "douăzeci", "treizeci", "patruzeci", "cincizeci", "șaizeci", "șaptezeci",
         "optzeci", "nouăzeci"]  # fmt: skip
_GENDER = {"m": 0, "f": 1, "n": 2}


def _unit(n: int, gender: str) -> str:
    if n in _UNITS:
        return _UNITS[n][_GENDER[gender]]
    return _SIMPLE[n]


def _below_1000(n: int, gender: str) -> str:
    """1..999 in words, the last numeral agreeing with ``gender``."""
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        words.append("o sută" if hundreds == 1 else f"{_unit(hundreds, 'f')} sute")
    if rest >= 20:
        tens, unit = divmod(rest, 10)
        words.append(_TENS[tens] + (f" și {_unit(unit, gender)}" if unit else ""))
    elif rest >= 10:
        if rest == 12:
            words.append("douăsprezece" if gender in "fn" else "doisprezece")
        else:
            words.append(_TEENS[rest - 10])
    elif rest:
        words.append(_unit(rest, gender))
    return " ".join(words)


# (size, singular, plural, gender of the count, the singular's own numeral)
_SCALES = [
    (10**9, "miliard", "miliarde", "n", "un"),
    (10**6, "milion", "milioane", "n", "un"),
    (10**3, "mie", "mii", "f", "una"),
]


def number_in_words_ro(n: int, gender: str = "m") -> str:
    """A whole number 0..999,999,999,999 in words (``gender`` of what it counts)."""
    if n < 0 or n >= 10**12:
        raise ValueError(f"{n} is outside 0..999,999,999,999")
    if n == 0:
        return "zero"
    words = []
    for size, one, many, count_gender, single in _SCALES:
        count, n = divmod(n, size)
        if count == 1:
            words.append(f"{single} {one}")
        elif count:
            words.append(f"{_below_1000(count, count_gender)} {many}")
    if n:
        words.append(_below_1000(n, gender))
    return " ".join(words)


def _counted(n: int, one: str, many: str) -> str:
    return f"un {one}" if n == 1 else f"{number_in_words_ro(n, 'm')} {many}"


def amount_in_words_ro(amount: Decimal) -> str:
    """A sum of lei in words: "una mie două sute treizeci și patru lei și cincizeci și șase bani"."""
    if amount < 0:
        raise ValueError("amount: cannot be negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount: round it to bani (2 decimals) first")
    lei, bani = divmod(int(amount * 100), 100)
    text = _counted(lei, "leu", "lei")
    if bani:
        text += " și " + _counted(bani, "ban", "bani")
    return text
