"""Invoice numbers: formatting and parsing. Allocation (under a lock) lives in invoices.services."""

from __future__ import annotations

import re
from dataclasses import dataclass

SERIES_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


class NumberingError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_series_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not SERIES_RE.match(code):
        raise NumberingError(
            "series", f"{code!r} is not a series code (1-10 letters/digits, starting with a letter)"
        )
    return code


def format_number(number: int, width: int = 6) -> str:
    if number < 1:
        raise NumberingError("number", "invoice numbers start at 1")
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
        raise NumberingError("invoice", f"{text!r} is not SERIES-NUMBER (e.g. REC-000123)")
    return InvoiceRef(m.group(1).upper(), int(m.group(2)))


def allocate_block(next_number: int, count: int) -> range:
    """The numbers a block of ``count`` invoices takes from a counter at ``next_number``."""
    if count < 0:
        raise NumberingError("count", "cannot allocate a negative count")
    return range(next_number, next_number + count)
