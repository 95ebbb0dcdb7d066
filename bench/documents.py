"""Benchmark: e-Factura XML build + own check, and the PDF, per invoice (single process).

    .venv/bin/python bench/documents.py [--n 500]
    .venv/bin/python bench/documents.py --db-template perfdoc_billed --procs 2 --limit 2000

The second form measures ``render_pending`` (the worker task) end to end on PostgreSQL: a
copy of a database holding issued invoices without documents (e.g. a billed copy of
bench/billing_run.py's template) is made, ``--procs`` processes render until ``--limit``
invoices have their documents, and documents/s, wall and CPU per process are printed.

No database: the documents are built from a ``DocData`` snapshot exactly as the worker
does after loading an invoice. Results go to docs/benchmarks/documents.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")

import django  # noqa: E402

django.setup()

from recurent.documents import pdf, ubl  # noqa: E402
from recurent.documents.snapshot import DocData, Line, Party, VatRow  # noqa: E402
from recurent.documents.validation import check_xml  # noqa: E402

SELLER = Party(name="Recurent Demo SRL", tax_id="RO18547290", street="Str. Memorandumului 28",
               city="Cluj-Napoca", county="RO-CJ", postal_code="400114", trade_register="J12/1234/2015",
               iban="RO49AAAA1B31007593840000", bank="Banca Transilvania", email="facturi@demo.ro")  # fmt: skip
BUYER = Party(
    name="Client Exemplu SA",
    tax_id="RO14399840",
    street="Bd. Unirii 1",
    city="SECTOR3",
    county="RO-B",
)


def invoice(lines: int = 3) -> DocData:
    items = []
    for i in range(1, lines + 1):
        rate = Decimal("21") if i % 3 else Decimal("11")
        items.append(Line(position=i, name=f"Abonament găzduire {i}", quantity=Decimal(i), unit_code="MON",
                          unit_price=Decimal("100.00"), vat_category="S", vat_rate=rate,
                          net=Decimal(100 * i).quantize(Decimal("0.01")), unit_name="lună",
                          description="Servicii lunare, ședințe și întreținere"))  # fmt: skip
    rows = []
    for rate in (Decimal("21"), Decimal("11")):
        base = sum((li.net for li in items if li.vat_rate == rate), Decimal("0.00"))
        if base:
            rows.append(VatRow("S", rate, base, (base * rate / 100).quantize(Decimal("0.01"))))
    net = sum((r.base for r in rows), Decimal("0.00"))
    vat = sum((r.vat for r in rows), Decimal("0.00"))
    return DocData(kind="invoice", number="REC-000123", issue_date=date(2026, 3, 2), due_date=date(2026, 3, 17),
                   currency="RON", seller=SELLER, buyer=BUYER, lines=tuple(items), vat_rows=tuple(rows),
                   net_total=net, vat_total=vat, gross_total=net + vat, period_start=date(2026, 3, 1),
                   period_end=date(2026, 3, 31), contract_number="C-2026-7", issuer_name="Ana Ionescu")  # fmt: skip


def median_ms(fn, n: int) -> tuple[float, float]:
    fn()  # warm-up (template compile, schema load)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def db_child(limit: int, profile: str) -> None:
    """One rendering process: the worker task until ``limit`` invoices have their PDF."""
    from recurent.documents.models import InvoiceDocument
    from recurent.documents.services import render_pending

    def loop() -> int:
        done = 0
        while n := render_pending(limit=100):
            done += n
            if InvoiceDocument.objects.filter(kind="pdf").count() >= limit:
                break
        return done

    if profile:
        import cProfile

        cProfile.runctx("print(loop())", globals(), {"loop": loop}, profile)
    else:
        print(loop())


def db_run(a: argparse.Namespace) -> None:
    import subprocess

    import psycopg

    name = f"perfdoc_run_{os.getpid()}"
    with psycopg.connect(a.pg_server + "/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{a.db_template}"')
    env = dict(os.environ, DATABASE_URL=f"{a.pg_server}/{name}")
    if a.sql:
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as c:
            c.execute(a.sql)
    from billing_run import postgres_cpu_s  # every PostgreSQL process: an upper bound

    cmd = [sys.executable, __file__, "--db-child", str(a.limit)]
    try:
        load = os.getloadavg()[0]
        pg0 = postgres_cpu_s()
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                cmd + (["--profile", f"{a.profile}.{i}"] if a.profile else []),
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for i in range(a.procs)
        ]
        cpu, done = [], []
        for p in procs:
            _, status, ru = os.wait4(p.pid, 0)
            done.append(int(p.stdout.read().split()[-1]))  # type: ignore[union-attr]
            cpu.append(round(ru.ru_utime + ru.ru_stime, 1))
        wall = time.perf_counter() - t0
        pg = postgres_cpu_s() - pg0
        with psycopg.connect(env["DATABASE_URL"]) as c:
            n = c.execute(
                "SELECT COUNT(DISTINCT invoice_id) FROM documents_invoicedocument"
            ).fetchone()[0]
            dup = c.execute("SELECT COUNT(*) FROM documents_invoicedocument GROUP BY invoice_id, kind "
                            "HAVING COUNT(*) > 1").fetchall()  # fmt: skip
            bad = c.execute(
                "SELECT COUNT(*) FROM documents_invoicedocument WHERE NOT valid"
            ).fetchone()[0]
        print(f"procs={a.procs} invoices={n} per-process={done} wall={wall:.1f}s "
              f"{n / wall:.1f} invoices/s cpu={cpu} ms-cpu/invoice={sum(cpu) / n * 1000:.1f} "
              f"postgres-cpu={pg:.1f}s ({pg / n * 1000:.1f} ms/invoice) "
              f"load={load:.2f}->{os.getloadavg()[0]:.2f} duplicates={len(dup)} invalid={bad}")  # fmt: skip
    finally:
        with psycopg.connect(a.pg_server + "/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--db-template", help="render_pending on a copy of this PostgreSQL database")
    ap.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--profile", default="", help="cProfile output prefix (one file per process)")
    ap.add_argument("--sql", default="", help="run this SQL on the copy first (experiments)")
    ap.add_argument("--db-child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.db_child:
        return db_child(a.db_child, a.profile)
    if a.db_template:
        return db_run(a)
    n = a.n
    one, big = invoice(3), invoice(60)
    assert check_xml(ubl.build(one)) == [] and check_xml(ubl.build(big)) == []
    t0 = time.perf_counter()
    pdf.render(one)
    first = (time.perf_counter() - t0) * 1000
    rows = [
        ("XML build (3 lines)", lambda: ubl.build(one)),
        ("own check: XSD + rules (3 lines)", lambda: check_xml(ubl.build(one))),
        ("XML build + own check (3 lines)", lambda: check_xml(ubl.build(one))),
        ("PDF, one page (3 lines)", lambda: pdf.render(one)),
        ("XML build + own check (60 lines)", lambda: check_xml(ubl.build(big))),
        ("PDF, 60 lines (2 pages)", lambda: pdf.render(big)),
    ]
    xml = ubl.build(one)
    rows[1] = ("own check only: XSD + rules (3 lines)", lambda: check_xml(xml))
    print(f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
          f"Python {platform.python_version()} · n={n}")  # fmt: skip
    print(f"first PDF in the process (template compile + fonts): {first:.1f} ms")
    print(f"{'what':42} {'median ms':>10} {'p95 ms':>8}")
    for label, fn in rows:
        med, p95 = median_ms(fn, n)
        print(f"{label:42} {med:10.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
