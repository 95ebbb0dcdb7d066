"""Numbering once: how an invoice or a credit note gets its series number and its instant.

Used by the billing engine (``services.issue_batch``) and by storno (``storno.invoice_storno``),
so that the two cannot drift apart again (the storno's copy once saved the series with
``save()``, which moved ``updated_at`` and released every contract held for bad data).

The rule:
1. the counter rows of every series involved are locked in primary-key order, so that two
   writers never wait on each other in a cycle;
2. the instant of issue is read only then, under the locks, so dates never go backwards
   along the numbers of a series (``SeriesClockError`` when a given instant would);
3. numbers are taken consecutively, restarting at 1 in a new year for yearly series
   (``engine.numbering.allocate_block``, the pure half);
4. the rows are written back with ``update()`` in the same transaction as the invoices: a
   rollback rolls the counter back too, so no number is skipped or reused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from recurent.common import clock
from recurent.companies.models import InvoiceSeries
from recurent.engine import numbering
from recurent.engine.cycles import BUCHAREST
from recurent.engine.vat import Totals


class SeriesClockError(Exception):
    """Issuing as of an instant older than the newest invoice of a series."""


class SeriesLock:
    """The locked counter rows of the series one transaction issues into, and its instant.

    Build it inside ``transaction.atomic()``; call ``take`` per invoice, then ``save`` once.
    ``as_of=None`` means now, moved up to a series' newest instant when another machine's
    clock ran a little ahead (real-time mode stays monotonic); a given ``as_of`` older than
    a series' newest invoice is refused.
    """

    def __init__(self, series_ids: Iterable[int], *, as_of: datetime | None) -> None:
        from .services import billing_instant_check

        # No invoice or credit note dated in the future: its series would follow it (issue 14).
        billing_instant_check(as_of=as_of, dry_run=False)
        self.series: dict[int, InvoiceSeries] = {
            s.pk: s
            for s in InvoiceSeries.objects.select_for_update()
            .filter(pk__in=sorted(set(series_ids)))
            .order_by("pk")
        }
        issued_at = as_of or clock.now()  # read under the locks
        if as_of is None:
            issued_at = max(
                [issued_at, *(s.last_issued_at for s in self.series.values() if s.last_issued_at)]
            )
        for s in self.series.values():
            if s.last_issued_at and issued_at < s.last_issued_at:
                raise SeriesClockError(
                    f"series {s.code}: its newest invoice is dated {s.last_issued_at.isoformat()}, "
                    f"after {issued_at.isoformat()}; invoice dates cannot go backwards"
                )
        self.issued_at = issued_at
        self.year = issued_at.astimezone(BUCHAREST).year

    def take(self, series_id: int) -> tuple[InvoiceSeries, int, int, str]:
        """(the series, the invoice's year, its number, the full number "REC-000123")."""
        s = self.series[series_id]
        s.year, numbers = numbering.allocate_block(
            next_number=s.next_number,
            series_year=s.year,
            yearly_restart=s.yearly_restart,
            year=self.year,
            count=1,
        )
        s.next_number = numbers.stop
        return s, s.year, numbers.start, numbering.full_number(s.code, numbers.start, s.width)

    def save(self) -> None:
        for s in self.series.values():
            s.last_issued_at = self.issued_at
            # update(), not save(): updated_at must not move, because a series edited after a
            # contract was held for bad data releases that contract (invoices.due_contracts).
            InvoiceSeries.objects.filter(pk=s.pk).update(
                next_number=s.next_number, year=s.year, last_issued_at=self.issued_at
            )


def vat_breakdown(totals: Totals, reasons: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The invoice's ``vat_breakdown`` column: one entry per (category, rate), as text.
    ``reasons``: {category: the legal basis (BT-120) this invoice states instead of the
    category's usual one} (late-payment interest is outside the taxable base, not exempt)."""
    rows: list[dict[str, Any]] = []
    for i, g in enumerate(totals.groups):
        row = {
            "category": g.category.value,
            "rate": str(g.rate),
            "base": str(g.base),
            "vat": str(g.vat),
            "vat_ron": str(totals.vat_ron_groups[i]) if totals.vat_ron_groups else None,
        }
        reason = (reasons or {}).get(g.category.value)
        if reason:
            row["reason"] = reason[:100]
        rows.append(row)
    return rows
