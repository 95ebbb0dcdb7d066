"""What discounts and trials cost the import and the billing run: N contracts without any,
then the same N with a trial on every contract and a percentage on every second one.

    .venv/bin/python bench/discounts.py --contracts 2000

Each variant runs in a child process on a fresh, migrated SQLite database
(``/tmp/recurent_bench/discounts_<variant>.sqlite3``): ``import_data`` of the file made by
bench/importing.py (N/2 clients would be made: here N clients and N contracts), then one
``issue_due`` for the day every contract is due (2026-02-01 09:00). Reported: the wall time of
each (and its CPU time: the machine is shared), invoices/s, and how many invoice lines carry
an allowance. The load average of the
machine (shared with other developers) is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIR = Path("/tmp/recurent_bench")


def _data(n: int, with_discounts: bool) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from importing import make_file  # the import bench's file: N/2 clients and contracts

    data = json.loads(make_file(2 * n).read_text())
    if with_discounts:
        for i, k in enumerate(data["contracts"]):
            k["discounts"] = [{"kind": "percent", "value": "100", "periods": 1, "trial": True,
                               "reason": "Perioadă de probă"}]  # fmt: skip
            if i % 2:
                k["discounts"].append({"kind": "percent", "value": str(5 + i % 7), "periods": 6,
                                       "line_position": 1, "from_index": 0,
                                       "reason": "Reducere de lansare"})  # fmt: skip
    return data


def child(variant: str, n: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from recurent.contracts.importing import import_data
    from recurent.invoices.models import Invoice, InvoiceLine
    from recurent.invoices.services import issue_due
    from tests.factories import local

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.ro", "x")
    data = _data(n, variant == "with")
    t0, c0 = time.perf_counter(), time.process_time()
    import_data(data, user=user)
    t1, c1 = time.perf_counter(), time.process_time()
    issue_due(as_of=local(2026, 2, 1, 9))
    t2, c2 = time.perf_counter(), time.process_time()
    issued = Invoice.objects.count()
    with_allowances = InvoiceLine.objects.exclude(allowances=[]).count()
    print(json.dumps({"variant": variant, "contracts": n, "import_s": round(t1 - t0, 2),
                      "run_s": round(t2 - t1, 2), "import_cpu": round(c1 - c0, 2),
                      "run_cpu": round(c2 - c1, 2), "invoices": issued,
                      "invoices_per_s": round(issued / (t2 - t1), 1),
                      "lines_with_allowances": with_allowances}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contracts", type=int, default=2000)
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.contracts)
        return
    DIR.mkdir(exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(
        "| variant | contracts | import s (CPU) | run s (CPU) | invoices/s | lines with allowances |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for variant in ("without", "with"):
        db = DIR / f"discounts_{variant}.sqlite3"
        db.unlink(missing_ok=True)
        env = dict(os.environ) | {"DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(ROOT),
                                  "DJANGO_SETTINGS_MODULE": "recurent.settings.test"}  # fmt: skip
        out = subprocess.run([sys.executable, __file__, "--child", variant, "--contracts",
                              str(a.contracts)], env=env, cwd=ROOT, capture_output=True,
                             text=True, check=True)  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {variant} | {r['contracts']} | {r['import_s']} ({r['import_cpu']}) | "
              f"{r['run_s']} ({r['run_cpu']}) | "
              f"{r['invoices_per_s']} | {r['lines_with_allowances']} |")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
