"""Benchmark: a generated month of bank statement lines written the ways people pay, imported and
matched; reports the share matched automatically, the share matched wrongly and the time.

    DATABASE_URL=sqlite:////tmp/bench-stmt.sqlite3 .venv/bin/python bench/statements_gen.py --n 1000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/recurent_bench_stmt \\
        .venv/bin/python bench/statements_gen.py --n 5000

Fresh content (migrates; the database must be empty): N clients, 80 % of them with their IBAN on
file, each with a monthly contract (prices from a short list, so many invoices share an amount),
one invoice each through the real engine; then one statement line per invoice (camt.053), every
line carrying the payer's IBAN as banks do, the text chosen at random from:

- the invoice number as people write it: ``REC-000049``, ``REC 49``, ``REC49``, ``F REC/49``,
  ``Plata fact. REC nr. 000049``, ``fact. 49`` (no series), lower case, inside other words;
- no number at all ("abonament", "servicii luna") from a client whose IBAN is on file;

and ``--noise`` of the lines (5 % by default) spoilt: a wrong invoice number (digits swapped:
often another client's open invoice), a bank fee taken off the amount, or an unknown payer with
neither number nor known IBAN. Each line knows the invoice it pays; a line matched to anything
else counts as wrong. Deterministic for a given ``--seed``. Results go to
docs/benchmarks/payments.md.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from stdnum import iban as stdiban  # noqa: E402

from recurent.clients.models import Client  # noqa: E402
from recurent.invoices.models import Invoice  # noqa: E402
from recurent.invoices.services import issue_due  # noqa: E402
from recurent.payments.bank import statement_import  # noqa: E402
from recurent.payments.models import Allocation, StatementLine  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.payments.helpers import camt_file  # noqa: E402

PRICES = ["40", "100", "100", "150", "200", "250", "300", "99.90", "1000"]


def an_iban(bank: str, n: int) -> str:
    bban = f"{bank}{n:016d}"
    return f"RO{stdiban.calc_check_digits(f'RO00{bban}')}{bban}"


def server_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (same machine), else 0."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def written(rng: random.Random, inv: Invoice) -> tuple[str, str]:
    """(style, text) of a payment of ``inv`` with its number in it."""
    n = inv.number
    styles = {
        "full": f"Plata factura {inv.full_number}",
        "space": f"REC {n} abonament",
        "glued": f"rec{n}",
        "slash": f"F REC/{n}",
        "nr": f"Contravaloare fact. REC nr. {n:06d} din 31.01.2026",
        "bare": f"fact. {n}",
        "lead": f"REC-{n:03d}",
    }
    style = rng.choice(list(styles))
    return style, styles[style]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--profile", action="store_true", help="print where the import's time goes")
    ap.add_argument(
        "--no-listeners", action="store_true", help="experiment: without the event listeners"
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    call_command("migrate", verbosity=0)
    c, _s, u = f.setup_company()
    products = {p: f.product(c, unit_price=Decimal(p)) for p in sorted(set(PRICES))}
    t0 = time.perf_counter()
    known: dict[int, str] = {}
    for i in range(args.n):
        iban = an_iban("BTRL", i + 1) if rng.random() < 0.8 else ""
        cl = f.client(c, iban=iban, name=f"Client {i:05d} SRL")
        if iban:
            known[cl.pk] = iban
        f.contract(c, issuer=u, client_=cl, lines=[(products[rng.choice(PRICES)], "1")],
                   first=f.local(2026, 1, 31))  # fmt: skip
    issue_due(as_of=f.local(2026, 1, 31, 10), company_id=c.pk)
    print(f"setup: {args.n} clients, contracts, invoices in {time.perf_counter() - t0:.1f}s")
    invoices = list(Invoice.objects.filter(company=c).order_by("number"))
    lines, truth, kinds = [], [], Counter()
    for k, inv in enumerate(invoices):
        payer_iban = known.get(inv.client_id) or an_iban("BRDE", 900000 + k)
        amount, name = inv.gross_total, inv.buyer_name
        if rng.random() < args.noise:
            kind = rng.choice(["typo", "fee", "stranger"])
            if kind == "typo":  # digits swapped, or one more: often another open invoice
                s = str(inv.number)
                wrong = int(s[::-1]) if len(s) > 1 and s[::-1] != s else inv.number + 1
                text = f"Plata factura REC-{wrong:06d}"
            elif kind == "fee":  # the payer's bank took its fee off the amount
                amount, text = amount - Decimal("2.50"), written(rng, inv)[1]
            else:  # someone else pays, says nothing useful
                payer_iban, name, text = an_iban("CECE", 700000 + k), "PERSOANA FIZICA", "plata"
        elif inv.client_id in known and rng.random() < 0.2:
            kind, text = "iban_only", rng.choice(["abonament", "servicii luna ianuarie", "plata"])
        else:
            kind, text = written(rng, inv)
        kinds[kind] += 1
        lines.append((amount, name, payer_iban, text, f"B{k:07d}"))
        truth.append(inv.pk)
    content = camt_file(lines, account=f.IBAN_SELLER, day="2026-02-10")
    as_of = f.local(2026, 2, 20)
    if args.no_listeners:
        from recurent.common import events

        events._listeners.clear()
    prof = cProfile.Profile() if args.profile else None
    server0 = server_cpu()
    t, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        if prof:
            prof.enable()
        imp = statement_import(company=c, filename="gen.xml", content=content, as_of=as_of, user=u)
        if prof:
            prof.disable()
    dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
    server = server_cpu() - server0
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    by_ref = {li.bank_reference: li for li in StatementLine.objects.filter(statement=imp)}
    paid_to: dict[int, set[int]] = {}
    for line_id, inv_id in Allocation.objects.filter(
        payment__statement_line__statement=imp
    ).values_list("payment__statement_line_id", "invoice_id"):
        paid_to.setdefault(line_id, set()).add(inv_id)
    auto = wrong = 0
    wrong_kinds: Counter[str] = Counter()
    for k, want in enumerate(truth):
        line = by_ref[f"B{k:07d}"]
        if line.status == "matched":
            auto += 1
            if paid_to.get(line.pk, set()) - {want} or want not in paid_to.get(line.pk, set()):
                wrong += 1
                wrong_kinds[line.match_rule] += 1
    n = len(truth)
    print(f"lines: {n} ({dict(kinds)})")
    print(
        f"import + match: {dt:.2f}s wall, {dcpu:.2f}s CPU of this process ({dt / n * 1000:.2f} ms/line)"
        f" on {connection.vendor}, {len(queries.captured_queries)} queries"
        + (f"; PostgreSQL backend CPU {server:.2f}s" if connection.vendor == "postgresql" else "")
    )
    print(f"load average during the run: {os.getloadavg()}")
    print(f"automatic: {auto}/{n} = {auto / n:.1%}; wrong: {wrong} {dict(wrong_kinds)}")
    print(f"report: {imp.report}")
    t = time.perf_counter()
    again = statement_import(company=c, filename="gen.xml", content=content, as_of=as_of, user=u)
    print(f"re-import: {time.perf_counter() - t:.2f}s, new {again.lines_new}, "
          f"duplicates {again.lines_duplicate}")  # fmt: skip
    print(f"clients with IBAN on file: {len(known)}/{Client.objects.filter(company=c).count()}")
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cpus"
    )


if __name__ == "__main__":
    main()
