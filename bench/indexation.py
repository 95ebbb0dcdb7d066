"""The yearly-indexation task's cost per worker pass, with N indexed contracts.

    .venv/bin/python bench/indexation.py [N]          (default 10000)

A fresh SQLite file database (migrated); one contract made by contract_create, then N-1 copies
of its row and line written in bulk (the task reads contracts, not invoices). Measures
``indexation_tick`` on a day nothing is due (what almost every pass costs), on the day every
contract's notice is due (N notices: row, outbox message, history), and on the day the new prices
go in, 100 at a time (the worker's default limit).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
tmp = Path(tempfile.mkdtemp(prefix="bench-indexation-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.mail.settings_subprocess"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402


def _timed(label: str, fn) -> None:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    n = fn()
    dt = time.perf_counter() - t
    per = f"{dt / n * 1000:6.1f} ms/item" if n else f"{dt / N * 1e6:6.1f} µs/contract read"
    print(f"{label:<44} {n:>5} handled {dt * 1000:9.1f} ms  ({per})")


def main() -> None:
    call_command("migrate", verbosity=0)
    from recurent.contracts.indexation import indexation_tick
    from recurent.contracts.models import Contract, ContractLine
    from tests import factories as f
    from tests.factories import local

    company, _, user = f.setup_company()
    c = f.contract(company, issuer=user, index_method="fixed", index_percent="5")
    line = c.lines.get()
    rows, lines = [], []
    for i in range(1, N):
        c.pk, c.id, c.number = None, None, f"B-{i}"
        rows.append(Contract(**{fld.attname: getattr(c, fld.attname)
                                for fld in Contract._meta.concrete_fields}))  # fmt: skip
    Contract.objects.bulk_create(rows, batch_size=2000)
    for k in Contract.objects.exclude(number__startswith="C-").values_list("pk", flat=True):
        lines.append(ContractLine(contract_id=k, product_id=line.product_id, quantity=line.quantity,
                                  position=1))  # fmt: skip
    ContractLine.objects.bulk_create(lines, batch_size=2000)
    print(f"{N} indexed contracts, SQLite, {os.cpu_count()} CPUs")
    # The worker's pass: the default limit of 100 notices or changes.
    tick = indexation_tick
    _timed("pass, nothing due (1 Nov)", lambda: tick(as_of=local(2026, 11, 1)))
    _timed("pass, notices due: the first 100 (2 Dec)", lambda: tick(as_of=local(2026, 12, 2)))
    _timed("next pass, the next 100 (2 Dec)", lambda: tick(as_of=local(2026, 12, 2, 9, 1)))
    _timed(
        "pass, 100 late notices + 100 price changes (1 Jan)",
        lambda: tick(as_of=local(2027, 1, 1, 1)),
    )
    _timed("pass, nothing due (1 Feb, 200 done)", lambda: tick(as_of=local(2027, 2, 1), limit=0))


if __name__ == "__main__":
    main()
