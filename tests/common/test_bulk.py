"""One bulk INSERT helper for the rows a billing block writes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recurent.common import bulk
from recurent.companies.models import InvoiceSeries


def test_chunks_are_powers_of_two_and_cover_every_row():
    got = bulk.chunks(1000, 750)
    assert [e - s for s, e in got] == [512, 256, 128, 64, 32, 8]
    assert got[0][0] == 0 and got[-1][1] == 1000
    assert all(got[i][1] == got[i + 1][0] for i in range(len(got) - 1))
    assert bulk.chunks(0, 750) == []


@pytest.mark.django_db
def test_rows_get_their_ids_in_order_and_conflicts_can_be_skipped(world):
    base = bulk.defaults(InvoiceSeries)
    columns = list(base)

    def row(code: str) -> list[object]:
        return [*{**base, "company_id": world.company.pk, "code": code}.values()]

    with CaptureQueriesContext(connection) as q:
        ids = bulk.insert_rows(
            InvoiceSeries,
            columns,
            bulk.adapt_rows(InvoiceSeries, columns, [row("A1"), row("B2"), row("C3")]),
            returning_ids=True,
        )
    assert [InvoiceSeries.objects.get(pk=i).code for i in ids] == ["A1", "B2", "C3"]
    # One statement (PostgreSQL: arrays), or one per power-of-two chunk (SQLite: 2 + 1).
    inserts = [x for x in q.captured_queries if "INSERT" in x["sql"]]
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 2)
    # A second insert of an existing (company, code) is skipped, the new one written.
    bulk.insert_dicts(
        InvoiceSeries,
        [{"company_id": world.company.pk, "code": c} for c in ("A1", "D4")],
        ignore_conflicts=True,
    )
    codes = InvoiceSeries.objects.filter(company=world.company).values_list("code", flat=True)
    assert sorted(codes) == ["A1", "B2", "C3", "D4", "REC"]
