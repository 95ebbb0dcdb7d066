"""Numbers of the documents that are not invoices (cash receipts, proformas).

One rule for both kinds, the same as for invoices: the series row is locked, the number is
allocated by the pure ``engine.numbering.allocate_block`` and written back with ``update()``
in the caller's transaction (a rollback takes the number back), and dates never go backwards
along a series. A company's first document of a kind opens a series with the default code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from recurent.engine import numbering
from recurent.engine.cycles import BUCHAREST

from .models import ReceiptSeries

DEFAULT_CODES = {"receipt": "CH", "proforma": "PF"}


def _error(field: str, message: Any, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def series_take(
    *, company_id: int, kind: str, as_of: datetime, series: ReceiptSeries | None = None
) -> tuple[ReceiptSeries, int, int, str]:
    """(the series, the year, the number, the full number "CH-000001"); call inside a
    transaction. ``series``: a chosen one of ``kind``; the first of the company otherwise."""
    qs = ReceiptSeries.objects.select_for_update().filter(company_id=company_id, kind=kind)
    # Locked: two documents at once take consecutive numbers, never the same one.
    s = (qs.filter(pk=series.pk) if series else qs.order_by("pk")).first()
    if s is None and series is None:
        ReceiptSeries.objects.get_or_create(
            company_id=company_id, code=DEFAULT_CODES[kind], defaults={"kind": kind}
        )
        s = qs.order_by("pk").first()
    if s is None:
        raise _error("series", _("create a series of this kind first"), "no_series")
    if s.last_issued_at and as_of < s.last_issued_at:
        raise _error(
            "as_of", _("the series has a later document; dates cannot go backwards"),
            "before_series",
        )  # fmt: skip
    s.year, numbers = numbering.allocate_block(
        next_number=s.next_number, series_year=s.year, yearly_restart=s.yearly_restart,
        year=as_of.astimezone(BUCHAREST).year, count=1,
    )  # fmt: skip
    s.next_number, s.last_issued_at = numbers.stop, as_of
    ReceiptSeries.objects.filter(pk=s.pk).update(
        next_number=s.next_number, year=s.year, last_issued_at=as_of
    )
    return s, s.year, numbers.start, numbering.full_number(s.code, numbers.start, s.width)
