"""What billing by proforma first costs: N contracts billed by invoice, N by proforma, then the
N proformas paid (each payment issues its invoice). Run by hand on a database of its own:

    DATABASE_URL=sqlite:////tmp/bench-proformas.sqlite3 .venv/bin/python bench/proformas.py 200
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_proformas .venv/bin/python bench/proformas.py 200

The database is emptied by ``flush`` first. Results go in docs/benchmarks/proformas.md.
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
    from recurent.invoices.models import Invoice, InvoiceDraft
    from recurent.invoices.services import issue_due
    from recurent.payments.proformas import proforma_payment_record
    from tests import factories as f
    from tests.factories import local

    company, _series, user = f.setup_company()
    product = f.product(company, unit_price=Decimal("100.00"))
    for kind in ("invoice", "proforma"):
        for _ in range(n):
            f.contract(company, issuer=user, lines=[(product, "1")],
                       proforma_first=kind == "proforma")  # fmt: skip
    # The invoice contracts first, then the proforma ones: two runs, each timed on its own.
    from recurent.contracts.models import Contract

    Contract.objects.filter(proforma_first=True).update(status="paused")
    t0 = time.perf_counter()
    issue_due(as_of=local(2026, 2, 2, 9))
    t_inv = time.perf_counter() - t0
    Contract.objects.filter(proforma_first=True).update(status="active")
    t0 = time.perf_counter()
    issue_due(as_of=local(2026, 2, 2, 10))
    t_pf = time.perf_counter() - t0
    proformas = list(InvoiceDraft.objects.exclude(proforma_number=""))
    t0 = time.perf_counter()
    for d in proformas:
        proforma_payment_record(proforma=d, date=local(2026, 2, 3).date(),
                                amount=d.proforma_total, as_of=local(2026, 2, 3, 9), user=None)  # fmt: skip
    t_pay = time.perf_counter() - t0
    assert Invoice.objects.count() == 2 * n and len(proformas) == n
    db = django.db.connection.vendor
    print(f"{db} n={n}: run by invoice {t_inv:.2f} s ({n / t_inv:.0f}/s); "
          f"run by proforma {t_pf:.2f} s ({n / t_pf:.1f}/s); "
          f"payments issuing the invoices {t_pay:.2f} s ({n / t_pay:.1f}/s)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
