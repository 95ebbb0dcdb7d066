"""Benchmark: payment states in one query, receivables, and a bank statement import that matches
every line by invoice number, then its re-import (all duplicates).

    DATABASE_URL=sqlite:////tmp/bench-payments.sqlite3 .venv/bin/python bench/payments.py --n 1000

Creates a fresh database content (migrates, then company, N clients/contracts, N invoices through
the real engine). Results go to docs/benchmarks/payments.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from recurent.invoices.models import Invoice  # noqa: E402
from recurent.invoices.services import issue_due  # noqa: E402
from recurent.payments import selectors  # noqa: E402
from recurent.payments.bank import statement_import  # noqa: E402
from tests import factories as f  # noqa: E402


def camt(invoices: list[Invoice]) -> bytes:
    entries = []
    total = Decimal(0)
    for i, inv in enumerate(invoices):
        total += inv.gross_total
        entries.append(
            f"""<Ntry><Amt Ccy="RON">{inv.gross_total}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-02-10</Dt></BookgDt><AcctSvcrRef>B{i:08d}</AcctSvcrRef><NtryDtls><TxDtls>
<RltdPties><Dbtr><Nm>{inv.buyer_name}</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>Plata factura {inv.full_number}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        )
    return f"""<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><GrpHdr><MsgId>B</MsgId><CreDtTm>2026-02-10T20:00:00</CreDtTm></GrpHdr><Stmt><Id>1</Id>
<Acct><Id><IBAN>{f.IBAN_SELLER}</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="RON">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-02-10</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="RON">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-02-10</Dt></Dt></Bal>
{"".join(entries)}</Stmt></BkToCstmrStmt></Document>""".encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    n = ap.parse_args().n
    call_command("migrate", verbosity=0)
    c, s, u = f.setup_company()
    p = f.product(c, unit_price=Decimal("100"))
    t0 = time.perf_counter()
    for _ in range(n):
        f.contract(c, issuer=u, lines=[(p, "1")], first=f.local(2026, 1, 31))
    issue_due(as_of=f.local(2026, 1, 31, 10), company_id=c.pk)
    print(f"setup: {n} contracts + invoices in {time.perf_counter() - t0:.1f}s")
    invs = list(Invoice.objects.filter(company=c).order_by("number"))
    as_of = f.local(2026, 2, 20)
    ids = [i.pk for i in invs]
    with CaptureQueriesContext(connection) as q:
        t = time.perf_counter()
        states = selectors.payment_states(ids, as_of)
        dt = time.perf_counter() - t
    print(
        f"payment_states({n}): {dt * 1000:.0f} ms, {len(q.captured_queries)} query, {set(states.values())}"
    )
    t = time.perf_counter()
    r = selectors.receivables(c.pk, as_of)
    print(f"receivables: {(time.perf_counter() - t) * 1000:.0f} ms, outstanding {r.outstanding}")
    content = camt(invs)
    t = time.perf_counter()
    imp = statement_import(company=c, filename="b.xml", content=content, as_of=as_of, user=u)
    dt = time.perf_counter() - t
    print(
        f"statement import {n} lines: {dt:.2f}s ({dt / n * 1000:.1f} ms/line), matched {imp.matched}"
    )
    t = time.perf_counter()
    again = statement_import(company=c, filename="b.xml", content=content, as_of=as_of, user=u)
    dt = time.perf_counter() - t
    print(f"re-import: {dt:.2f}s, duplicates {again.lines_duplicate}, new {again.lines_new}")
    t = time.perf_counter()
    states = selectors.payment_states(ids, as_of)
    print(
        f"payment_states after: {(time.perf_counter() - t) * 1000:.0f} ms, {set(states.values())}"
    )
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cpus"
    )


if __name__ == "__main__":
    main()
