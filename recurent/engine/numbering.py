"""Invoice numbers: formatting, parsing, and the pure rule of taking a block from a counter.

The counter row and its lock live in ``recurent.invoices.numbering``, the one place that
numbers invoices and credit notes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import EngineError, gettext_noop

SERIES_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


class NumberingError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


def check_series_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not SERIES_RE.match(code):
        raise NumberingError(
            "series",
            gettext_noop(
                "%(value)s is not a series code (1-10 letters/digits, starting with a letter)"
            ),
            "not_a_series_code",
            value=repr(code),
        )
    return code


def format_number(number: int, width: int = 6) -> str:
    if number < 1:
        raise NumberingError("number", gettext_noop("invoice numbers start at 1"), "min_value")
    return str(number).zfill(width)


def full_number(series: str, number: int, width: int = 6) -> str:
    """``REC-000123``: what the user reads and types."""
    return f"{series}-{format_number(number, width)}"


@dataclass(frozen=True)
class InvoiceRef:
    series: str
    number: int


def parse_full_number(text: str) -> InvoiceRef:
    m = re.match(r"^\s*([A-Za-z][A-Za-z0-9]{0,9})[-\s/]*0*(\d+)\s*$", text or "")
    if not m:
        raise NumberingError(
            "invoice",
            gettext_noop("%(text)s is not SERIES-NUMBER (e.g. REC-000123)"),
            "not_an_invoice_number",
            text=repr(text),
        )
    return InvoiceRef(m.group(1).upper(), int(m.group(2)))


def allocate_block(
    *, next_number: int, series_year: int | None, yearly_restart: bool, year: int, count: int
) -> tuple[int, range]:
    """(the series' year afterwards, the numbers) for ``count`` invoices issued in ``year``
    from a counter at ``next_number`` that last numbered in ``series_year``.

    A series that restarts yearly starts again at 1 with the first invoice of a new year
    (the invoice's year in Bucharest, given by the caller); numbers are never skipped.
    """
    if count < 0:
        raise NumberingError(
            "count",
            gettext_noop("cannot allocate a negative count"),
            "negative",
        )
    if yearly_restart and series_year != year:
        series_year, next_number = year, 1
    elif series_year is None:
        series_year = year
    return series_year, range(next_number, next_number + count)
