"""What review before numbering costs: N contracts invoiced directly, N prepared as drafts for
review, then the N drafts approved (each numbered and issued then). Run by hand on a database of
its own:

    DATABASE_URL=sqlite:////tmp/bench-review.sqlite3 .venv/bin/python bench/review.py 200
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_review .venv/bin/python bench/review.py 200

The database is emptied by ``flush`` first. Results go in docs/benchmarks/review.md.
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.dev")


def main(n: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from recurent.contracts.models import Contract
    from recurent.invoices.models import Invoice
    from recurent.invoices.review import review_approve_many, review_queue
    from recurent.invoices.services import issue_due
    from tests import factories as f
    from tests.factories import local

    company, series, user = f.setup_company()
    product = f.product(company, unit_price=Decimal("100.00"))
    for kind in ("invoice", "review"):
        for _ in range(n):
            f.contract(company, issuer=user, lines=[(product, "1")],
                       review_before_issue=kind == "review")  # fmt: skip
    # The direct contracts first, then the reviewed ones: two runs, each timed on its own.
    Contract.objects.filter(review_before_issue=True).update(status="paused")
    t0 = time.perf_counter()
    issue_due(as_of=local(2026, 2, 2, 9))
    t_inv = time.perf_counter() - t0
    Contract.objects.filter(review_before_issue=True).update(status="active")
    t0 = time.perf_counter()
    issue_due(as_of=local(2026, 2, 2, 10))
    t_prep = time.perf_counter() - t0
    drafts = list(review_queue(company_id=company.pk))
    t0 = time.perf_counter()
    result = review_approve_many(drafts=drafts, as_of=local(2026, 2, 3, 9), user=user)
    t_appr = time.perf_counter() - t0
    assert not result.errors and len(drafts) == n
    numbers = sorted(Invoice.objects.filter(series=series).values_list("number", flat=True))
    assert numbers == list(range(1, 2 * n + 1))  # gapless across both paths
    db = django.db.connection.vendor
    print(f"{db} n={n}: run issuing invoices {t_inv:.2f} s ({n / t_inv:.0f}/s); "
          f"run preparing review drafts {t_prep:.2f} s ({n / t_prep:.0f}/s); "
          f"approvals {t_appr:.2f} s ({n / t_appr:.1f}/s)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
