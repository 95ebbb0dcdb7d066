"""Benchmark: e-Factura XML build + own check, and the PDF, per invoice (single process).

    .venv/bin/python bench/documents.py [--n 500]

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    n = ap.parse_args().n
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
