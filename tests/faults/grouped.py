"""Grouped clients (issue 18) for the fault tests and the benchmark: regroup a seeded database,
and check the invariants through the periods an invoice covers (plain SQL, as harness.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from .harness import State, aware, connect, expected_due, rows


def regroup(url: str, every: int) -> int:
    """Every ``every`` consecutive contracts (by id) become one client's, a client who wants one
    invoice; returns how many grouping clients there are. Clients left without a contract stay."""
    ids = [r[0] for r in rows(url, "SELECT id FROM contracts_contract ORDER BY id")]
    owners = dict(rows(url, "SELECT id, client_id FROM contracts_contract"))
    moves, leads = [], []
    for i in range(0, len(ids), every):
        chunk = ids[i : i + every]
        lead = owners[chunk[0]]
        leads.append(lead)
        moves.extend((lead, cid) for cid in chunk[1:])
    with connect(url) as c:
        cur = c.cursor()
        ph = "%s" if not hasattr(c, "total_changes") else "?"  # psycopg / sqlite3
        cur.executemany(f"UPDATE contracts_contract SET client_id = {ph} WHERE id = {ph}", moves)
        cur.executemany(
            f"UPDATE clients_client SET one_invoice_per_client = {ph} WHERE id = {ph}",
            [(True, lead) for lead in leads],
        )
        if hasattr(c, "total_changes"):
            c.commit()
    return len(leads)


def check_grouped(url: str, *, as_of: datetime, complete: bool = True) -> State:
    """Issue 2's promises with grouped invoices: each (contract, period) on exactly one invoice,
    series gapless in date order, whole invoices (every line of every contract period they
    cover, totals adding up), cursors equal to the periods invoiced."""
    periods = rows(url, "SELECT invoice_id, contract_id, period_index FROM invoices_invoiceperiod")
    seen: dict[tuple[int, int], int] = {}
    by_invoice: dict[int, list[int]] = defaultdict(list)
    per_contract: dict[int, list[int]] = defaultdict(list)
    for iid, cid, index in periods:
        assert (cid, index) not in seen, f"contract {cid} period {index} invoiced twice"
        seen[(cid, index)] = iid
        by_invoice[iid].append(cid)
        per_contract[cid].append(index)
    invoices = rows(url, "SELECT id, series_id, number, issued_at, net_total FROM invoices_invoice")
    by_series: dict[int, list[tuple[int, Any]]] = defaultdict(list)
    for _iid, sid, number, issued, _net in invoices:
        by_series[sid].append((number, aware(issued)))
    for sid, next_number in rows(url, "SELECT id, next_number FROM companies_invoiceseries"):
        got = sorted(by_series.get(sid, []), key=lambda x: x[0])
        assert [n for n, _ in got] == list(range(1, len(got) + 1)), f"series {sid}: gap or reuse"
        assert next_number == len(got) + 1, f"series {sid}: counter {next_number}, {len(got)}"
        dates = [d for _, d in got]
        assert dates == sorted(dates), f"series {sid}: dates out of number order"
    want_lines = dict(
        rows(url, "SELECT contract_id, COUNT(*) FROM contracts_contractline GROUP BY contract_id")
    )
    charges = dict(rows(url, "SELECT invoice_id, COUNT(*) FROM contracts_contractcharge "
                             "WHERE invoice_id IS NOT NULL GROUP BY invoice_id"))  # fmt: skip
    lines: dict[int, tuple[int, Decimal]] = {}
    cent = Decimal("0.01")
    for iid, net in rows(url, "SELECT invoice_id, net FROM invoices_invoiceline"):
        n, total = lines.get(iid, (0, Decimal(0)))
        lines[iid] = (n + 1, total + Decimal(str(net)).quantize(cent))
    grouped = 0
    for iid, *_rest, net in invoices:
        cids = by_invoice.get(iid)
        assert cids, f"invoice {iid} covers no contract period"
        grouped += len(cids) > 1
        n, total = lines.get(iid, (0, Decimal(0)))
        want = sum(want_lines[c] for c in cids) + charges.get(iid, 0)
        assert n == want, f"invoice {iid}: {n} lines, its contract periods make {want}"
        assert total == Decimal(str(net)).quantize(cent), f"invoice {iid}: lines {total}, net {net}"
    expected = expected_due(url, as_of)
    for cid, next_index in rows(url, "SELECT id, next_index FROM contracts_contract"):
        got = sorted(per_contract.get(cid, []))
        assert got == list(range(next_index)), f"contract {cid}: cursor {next_index}, periods {got}"
        due = expected.get(cid, 0)
        assert next_index == due if complete else next_index <= due, (
            f"contract {cid}: {next_index} periods invoiced, {due} due"
        )
    assert not complete or grouped > 0, "no invoice was grouped"
    return State(invoices=len(periods), expected=sum(expected.values()))
