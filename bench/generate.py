"""Realistic billing data at any size, written with bulk inserts (run by hand; also seeds tests/faults).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/recurent_bench_x \\
        .venv/bin/python bench/generate.py --contracts 100000 --first 2026-12-01T09:00

N clients and N contracts (one client each), 1-5 lines per contract from a catalogue of
products with every VAT rate code, a mix of cycles, prices in RON and EUR (invoiced in EUR
or converted to RON at BNR rates stored for every banking day around the due instant),
some Bucharest buyers (RO-B, SECTOR1-6), some individuals (with or without a CNP).
Every contract falls due at ``--first`` (the 1st of the month spike), except every
``--backdate-every``-th one, whose first instant is ``--backdate-days`` earlier (catch-up).
The database is migrated first; it must hold no contracts yet (``--series`` series,
contracts spread over them round-robin, in one company).
Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recurent.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from recurent.catalog.models import Product  # noqa: E402
from recurent.clients.models import Client  # noqa: E402
from recurent.companies.models import Company, InvoiceSeries  # noqa: E402
from recurent.contracts.models import Contract, ContractLine, ContractStatus  # noqa: E402
from recurent.engine.cycles import BUCHAREST, Cycle, Schedule, wall_clock  # noqa: E402
from recurent.rates.models import ExchangeRate  # noqa: E402

# Check-digit-valid identifiers (same as tests/factories.py).
CUI_BUYERS = ["RO14399840", "RO13548146", "RO1590082", "RO16341004", "RO361579", "14399840"]
CNP = "1800101221144"
COUNTIES = [("RO-CJ", "Cluj-Napoca"), ("RO-IS", "Iași"), ("RO-TM", "Timișoara"),
            ("RO-BV", "Brașov"), ("RO-CT", "Constanța"), ("RO-SB", "Sibiu")]  # fmt: skip
# (cycle, every_days, weight)
CYCLES = [("monthly", None, 60), ("quarterly", None, 10), ("half-yearly", None, 4),
          ("yearly", None, 6), ("weekly", None, 10), ("days", 14, 10)]  # fmt: skip
# (unit code, unit name, VAT category, VAT rate code)
PRODUCT_KINDS = [("MON", "lună", "S", "standard"), ("HUR", "oră", "S", "standard"),
                 ("C62", "buc", "S", "reduced"), ("KGM", "kg", "S", "reduced-low"),
                 ("E48", "serviciu", "E", "zero"), ("MON", "lună", "S", "standard")]  # fmt: skip
EUR_RON = Decimal("4.9750")


def parse_local(s: str) -> datetime:
    d = datetime.fromisoformat(s)
    return d if d.tzinfo else d.replace(tzinfo=BUCHAREST)


def store_rates(around: date, days_before: int, days_after: int) -> int:
    """BNR-like EUR and USD rates for every banking day in the window (weekends have none)."""
    have = set(ExchangeRate.objects.values_list("currency", "date"))
    rows = []
    d = around - timedelta(days=days_before)
    while d <= around + timedelta(days=days_after):
        if d.weekday() < 5:
            wiggle = Decimal((d.toordinal() % 37) - 18) / Decimal(10000)
            for cur, base in (("EUR", EUR_RON), ("USD", Decimal("4.3100"))):
                if (cur, d) not in have:
                    v = base + wiggle
                    rows.append(ExchangeRate(currency=cur, date=d, rate=v, published_value=v,
                                             multiplier=1, source="bench/generate.py"))  # fmt: skip
        d += timedelta(days=1)
    ExchangeRate.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def generate(
    *,
    contracts: int,
    first: datetime,
    series: int = 1,
    seed: int = 1,
    backdate_every: int = 0,
    backdate_days: int = 0,
    chunk: int = 5000,
    quiet: bool = False,
    auto_email: float = 0.0,
) -> dict[str, int]:
    rnd = random.Random(seed)
    # Its own generator: the same seed gives the same contracts whatever the email share.
    mail_rnd = random.Random(seed + 1)
    if Contract.objects.exists():
        raise SystemExit("generate: the database already holds contracts; use a fresh one")
    t0 = time.perf_counter()
    with transaction.atomic():
        company = Company.objects.create(
            legal_name="Bench Abonamente SRL", cui="RO18547290", trade_register="J12/1234/2015",
            street="Str. Memorandumului 28", city="Cluj-Napoca", county="RO-CJ",
            postal_code="400114", iban="RO49AAAA1B31007593840000", bank="Banca Transilvania",
            vat_payer=True, email="facturi@bench.ro",
        )  # fmt: skip
        sers = [
            InvoiceSeries.objects.create(
                company=company, code=f"B{i + 1}", is_default=(i == 0), width=7
            )
            for i in range(series)
        ]
        User = get_user_model()
        issuer = User.objects.filter(username="bench").first() or User.objects.create_user(
            username="bench", first_name="Ana", last_name="Popescu"
        )
        products = []
        for i in range(40):
            unit, uname, cat, rate = PRODUCT_KINDS[i % len(PRODUCT_KINDS)]
            cur = "EUR" if i % 4 == 3 else "RON"
            price = Decimal(rnd.randrange(500, 200000)) / 100
            products.append(
                Product(
                    company=company,
                    code=f"P{i:03d}",
                    name=f"Serviciu {i} ({uname})",
                    description="Abonament lunar" if unit == "MON" else "",
                    unit_code=unit,
                    unit_name=uname,
                    unit_price=price,
                    currency=cur,
                    vat_category=cat,
                    vat_rate=rate,
                )  # fmt: skip
            )
        Product.objects.bulk_create(products)
    rates = store_rates(first.astimezone(BUCHAREST).date(), max(backdate_days, 0) + 30, 400)

    cycle_pool = [c for c in CYCLES for _ in range(c[2])]
    schedules: dict[tuple[datetime, str, int | None, bool], Schedule] = {}
    made = lines_made = 0
    while made < contracts:
        n = min(chunk, contracts - made)
        with transaction.atomic():
            clients = []
            for j in range(made, made + n):
                r = rnd.random()
                if r < 0.15:  # individuals, half of them with a CNP
                    kind, tax_id, name = "individual", (CNP if j % 2 else ""), f"Persoană {j}"
                else:
                    kind, tax_id, name = (
                        "company",
                        CUI_BUYERS[j % len(CUI_BUYERS)],
                        f"Client {j} SRL",
                    )
                if rnd.random() < 0.2:  # Bucharest: the city is the sector
                    county, city = "RO-B", f"SECTOR{rnd.randint(1, 6)}"
                else:
                    county, city = COUNTIES[j % len(COUNTIES)]
                clients.append(
                    Client(
                        company=company,
                        kind=kind,
                        name=name,
                        tax_id=tax_id,
                        street=f"Str. Exemplu {j % 200 + 1}",
                        city=city,
                        county=county,
                        postal_code=f"{100000 + j % 800000}",
                        emails=[f"client{j}@example.ro"],
                        payment_term_days=rnd.choice([0, 15, 30]),
                    )  # fmt: skip
                )
            Client.objects.bulk_create(clients, batch_size=2000)
            rows = []
            for k, (j, cl) in enumerate(zip(range(made, made + n), clients, strict=True)):
                cycle, every, _ = rnd.choice(cycle_pool)
                in_arrears = rnd.random() < 0.1
                start = first
                if backdate_every and j % backdate_every == 0:
                    start = first - timedelta(days=backdate_days)
                key = (start, cycle, every, in_arrears)
                sch = schedules.get(key)
                if sch is None:
                    sch = schedules[key] = Schedule(
                        first_wall=wall_clock(start, BUCHAREST),
                        cycle=Cycle.parse(cycle, every),
                        in_arrears=in_arrears,
                    )
                eur = rnd.random() < 0.25
                rows.append(
                    Contract(
                        company=company,
                        client=cl,
                        number=f"C-{j:07d}",
                        signed_on=date(2026, 1, 5),
                        first_issue_at=start,
                        series=sers[k % len(sers)],
                        issuer=issuer,
                        cycle=cycle,
                        every_days=every,
                        in_arrears=in_arrears,
                        payment_term_days=cl.payment_term_days,
                        currency="EUR" if eur else "RON",
                        invoice_currency=("EUR" if rnd.random() < 0.5 else "RON") if eur else "RON",
                        status=ContractStatus.ACTIVE,
                        next_index=0,
                        next_issue_at=sch.instant(0),
                        auto_email=auto_email > 0 and mail_rnd.random() < auto_email,
                    )  # fmt: skip
                )
            Contract.objects.bulk_create(rows, batch_size=2000)
            lines = []
            for c in rows:
                for pos, p in enumerate(rnd.sample(products, rnd.randint(1, 5)), start=1):
                    lines.append(
                        ContractLine(
                            contract=c,
                            product=p,
                            position=pos,
                            quantity=Decimal(rnd.choice([1, 1, 1, 2, 3, 10])),
                            unit_price=None
                            if rnd.random() < 0.7
                            else p.unit_price * Decimal("0.9"),
                        )  # fmt: skip
                    )
            ContractLine.objects.bulk_create(lines, batch_size=5000)
        made += n
        lines_made += len(lines)
        if not quiet:
            print(f"  {made} contracts, {lines_made} lines, {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)  # fmt: skip
    return {"contracts": made, "lines": lines_made, "series": series, "rates": rates,
            "seconds": round(time.perf_counter() - t0, 2)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--contracts", type=int, required=True)
    ap.add_argument("--first", default="2026-12-01T09:00",
                    help="first issue instant of every contract (Bucharest time if no offset)")  # fmt: skip
    ap.add_argument("--series", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backdate-every", type=int, default=0)
    ap.add_argument("--backdate-days", type=int, default=0)
    ap.add_argument("--auto-email", type=float, default=0.0,
                    help="share of contracts that email their invoices (0..1)")  # fmt: skip
    ap.add_argument("--no-migrate", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if not a.no_migrate:
        call_command("migrate", verbosity=0)
    out = generate(contracts=a.contracts, first=parse_local(a.first), series=a.series, seed=a.seed,
                   backdate_every=a.backdate_every, backdate_days=a.backdate_days, quiet=a.quiet,
                   auto_email=a.auto_email)  # fmt: skip
    print(out)


if __name__ == "__main__":
    main()
