"""Late-payment interest: how long computing and issuing it takes for N late invoices.

    .venv/bin/python bench/interest.py [N]      (default 1000)
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/recurent_bench_interest \
        .venv/bin/python bench/interest.py 1000  (an empty database of your own)

A fresh SQLite file database (migrated) unless BENCH_DATABASE_URL names one. N clients, each
with one monthly contract invoiced on 2026-01-31 (due 2026-02-15); half of them paid 21 %
of it late on 2026-03-02. Measures ``interest_due`` (the preview the settings page shows),
``interest_invoice`` (N interest invoices issued through the one-off path) and a second run
the same day (nothing left). Results: docs/benchmarks/interest.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
tmp = Path(tempfile.mkdtemp(prefix="bench-interest-"))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}"
)
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.mail.settings_subprocess"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    from django.db import connection

    from recurent.companies.models import Company
    from recurent.invoices import services as invoices
    from recurent.invoices.models import Invoice
    from recurent.payments.balances import on_issued
    from recurent.payments.interest import interest_due, interest_invoice
    from recurent.payments.services import payment_record
    from tests import factories as f
    from tests.factories import local

    invoices.AFTER_ISSUE[:] = [on_issued]  # balances only: no e-Factura queue, mail, webhooks
    c, _, u = f.setup_company()
    Company.objects.filter(pk=c.pk).update(interest_enabled=True)
    c.refresh_from_db()
    t0 = time.perf_counter()
    for _ in range(N):
        f.contract(c, issuer=u, first=local(2026, 1, 31))
    invoices.issue_due(as_of=local(2026, 1, 31), batch_size=500)
    for i, inv in enumerate(Invoice.objects.filter(company=c).order_by("pk")):
        if i % 2 == 0:
            part = (inv.gross_total * Decimal("0.21")).quantize(Decimal("0.01"))
            payment_record(company=c, client=inv.client, date=date(2026, 3, 2), amount=part,
                           allocations=[(inv, part)], as_of=local(2026, 3, 2), user=u)  # fmt: skip
    print(f"{connection.vendor}, N={N}: set-up {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    due = interest_due(company=c, day=date(2026, 3, 31))
    t_due = time.perf_counter() - t0
    assert len(due) == N, len(due)
    t0 = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    done = interest_invoice(company=c, as_of=local(2026, 3, 31, 10), user=u)
    t_issue = time.perf_counter() - t0
    if os.environ.get("BENCH_PROFILE"):
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("BENCH_PROFILE", "cumulative")).print_stats(25)
    assert len(done) == N
    t0 = time.perf_counter()
    again = interest_invoice(company=c, as_of=local(2026, 3, 31, 11), user=u)
    t_again = time.perf_counter() - t0
    assert again == []
    if os.environ.get("BENCH_QUERIES"):
        from django.db import reset_queries
        from django.test.utils import CaptureQueriesContext

        cl = done[0].client
        with CaptureQueriesContext(connection) as ctx:
            interest_due(company=c, day=date(2026, 3, 31), client=cl)
        for q in ctx.captured_queries:
            print(q["time"], q["sql"][:300])
        reset_queries()
    print(f"interest_due (preview, {N} late invoices): {t_due:.2f}s")
    print(f"interest_invoice ({N} invoices issued): {t_issue:.2f}s = {N / t_issue:.0f} invoices/s")
    print(f"second run the same day (nothing left): {t_again:.2f}s")


if __name__ == "__main__":
    main()
