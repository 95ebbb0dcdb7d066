"""Demo data that looks like a real small Romanian business billing its clients."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from recurent.catalog.services import product_create
from recurent.clients.services import client_create
from recurent.common import clock
from recurent.companies.models import Role
from recurent.companies.services import company_create, membership_grant, series_create
from recurent.contracts.services import LineSpec, contract_create
from recurent.engine.cycles import BUCHAREST
from recurent.invoices.services import issue_due
from recurent.rates.models import ExchangeRate

CLIENTS: list[dict[str, Any]] = [
    dict(name="Agroind Cluj SRL", tax_id="RO14399840", street="Str. Fabricii 12", city="Cluj-Napoca", county="RO-CJ", emails=["contabilitate@agroind.example"], iban="RO09BCYP0000001234567890"),
    dict(name="Bitdefender Partner SRL", tax_id="RO13548146", street="Bd. Dimitrie Pompeiu 9", city="Sector 2", county="RO-B", emails=["billing@bdp.example"]),
    dict(name="Carpatica Logistic SA", tax_id="RO1590082", street="Calea Victoriei 155", city="SECTOR1", county="RO-B", emails=["facturi@carpatica.example", "cfo@carpatica.example"]),
    dict(name="Delta Turism SRL", tax_id="16341004", street="Str. Portului 3", city="Tulcea", county="RO-TL", emails=["office@deltaturism.example"]),
    dict(name="Ecofarm Bio SRL", tax_id="RO361579", street="Str. Morii 7", city="Sibiu", county="RO-SB", emails=["ecofarm@example.ro"]),
    dict(name="Fotostudio Iris SRL", tax_id="RO18547290", street="Str. Lungă 40", city="Brașov", county="RO-BV", emails=["iris@example.ro"]),
    dict(name="Grădinița Piticot SRL", tax_id="RO14399840", street="Str. Florilor 2", city="Iași", county="RO-IS", emails=["piticot@example.ro"]),
    dict(name="Horeca Timiș SRL", tax_id="RO13548146", street="Bd. Revoluției 1", city="Timișoara", county="RO-TM", emails=["horeca@example.ro"]),
    dict(name="Ion Popescu", kind="individual", tax_id="1800101221144", street="Str. Teilor 5", city="Constanța", county="RO-CT", emails=["ion.popescu@example.ro"]),
    dict(name="Maria Ionescu", kind="individual", tax_id="", street="Aleea Rozelor 8", city="Sector 3", county="RO-B", emails=["maria.ionescu@example.ro"]),
    dict(name="Nordic Software AB", tax_id="SE556677889901", country="SE", street="Kungsgatan 10", city="Stockholm", county="", emails=["ap@nordic.example"]),
    dict(name="Oltenia Energy SRL", tax_id="RO1590082", street="Str. Unirii 20", city="Craiova", county="RO-DJ", emails=["energy@example.ro"]),
]  # fmt: skip


@transaction.atomic
def _demo_rates(today: Any) -> None:
    """Illustrative BNR rates for the last 45 days (real rates come from `recurent rates fetch`)."""
    for i in range(45):
        d = today - timedelta(days=i)
        if d.weekday() < 5:
            v = Decimal("5.0900") + Decimal(i % 7) / 1000
            ExchangeRate.objects.get_or_create(
                currency="EUR", date=d, defaults={"rate": v, "published_value": v, "source": "demo"}
            )


def demo_load(*, bill: bool = True) -> dict[str, int]:
    now = clock.now()
    User = get_user_model()
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        admin = User.objects.create_superuser(
            "admin", "admin@example.ro", "admin", first_name="Ana", last_name="Pop"
        )
    company = company_create(
        legal_name="Recurent Demo SRL", cui="RO18547290", trade_register="J12/1234/2015",
        street="Str. Memorandumului 28", city="Cluj-Napoca", county="RO-CJ", postal_code="400114",
        iban="RO49AAAA1B31007593840000", bank="Banca Transilvania", vat_payer=True,
        share_capital="200 lei", email="facturi@recurent-demo.ro", phone="0264 000 000",
    )  # fmt: skip
    membership_grant(user=admin, company=company, role=Role.ADMIN)
    series_create(company=company, code="REC", is_default=True)
    series_create(company=company, code="RCN", is_credit=True)
    today = now.astimezone(BUCHAREST).date()
    _demo_rates(today)
    p = {
        "HOST": product_create(company=company, code="HOST", name="Găzduire web", unit_code="MON", unit_name="lună", unit_price=Decimal("49.90")),
        "SUP": product_create(company=company, code="SUP", name="Suport tehnic", unit_code="HUR", unit_name="oră", unit_price=Decimal("150.00")),
        "MAINT": product_create(company=company, code="MAINT", name="Mentenanță site", unit_code="MON", unit_name="lună", unit_price=Decimal("350.00"), self_service=True),
        "SAAS": product_create(company=company, code="SAAS", name="Licență SaaS", unit_code="MON", unit_name="lună", unit_price=Decimal("99.00"), currency="EUR", self_service=True),
        "TRAIN": product_create(company=company, code="TRAIN", name="Curs de instruire", unit_code="DAY", unit_name="zi", unit_price=Decimal("800.00"), vat_category="E", vat_rate="zero"),
        "BOOK": product_create(company=company, code="BOOK", name="Abonament revistă", unit_code="H87", unit_name="buc", unit_price=Decimal("25.00"), vat_rate="reduced"),
        "EXP": product_create(company=company, code="EXP", name="Consultanță export", unit_code="HUR", unit_name="oră", unit_price=Decimal("120.00"), currency="EUR", vat_category="G", vat_rate="zero"),
    }  # fmt: skip
    clients = [client_create(company=company, **c) for c in CLIENTS]

    def first(days_ago: int, hour: int = 9):  # type: ignore[no-untyped-def]
        d = today - timedelta(days=days_ago)
        from datetime import datetime

        return datetime(d.year, d.month, d.day, hour, 0, tzinfo=BUCHAREST)

    plans: list[tuple[int, list[tuple[str, str]], dict[str, Any], int]] = [
        (0, [("HOST", "1"), ("SUP", "2")], dict(cycle="monthly"), 330),
        (1, [("MAINT", "1")], dict(cycle="monthly", auto_email=True), 200),
        (2, [("SAAS", "5")], dict(cycle="monthly", currency="EUR", invoice_currency="EUR"), 20),
        (3, [("HOST", "3")], dict(cycle="quarterly"), 300),
        (4, [("BOOK", "4")], dict(cycle="monthly"), 150),
        (5, [("MAINT", "1"), ("HOST", "1")], dict(cycle="half-yearly"), 400),
        (6, [("TRAIN", "1")], dict(cycle="yearly"), 100),
        (7, [("SAAS", "2")], dict(cycle="monthly", currency="EUR", invoice_currency="RON"), 25),
        (8, [("HOST", "1")], dict(cycle="monthly", in_arrears=True), 120),
        (9, [("BOOK", "1")], dict(cycle="weekly"), 30),
        (10, [("EXP", "10")], dict(cycle="monthly", currency="EUR", invoice_currency="EUR"), 15),
        (11, [("SUP", "5")], dict(cycle="days", every_days=14), 60),
    ]
    n = 0
    for idx, lines, billing, days_ago in plans:
        n += 1
        contract_create(
            company=company, client=clients[idx], number=f"CTR-{2026}-{n:03d}",
            signed_on=today - timedelta(days=days_ago + 5), first_issue_at=first(days_ago), issuer=admin,
            lines=[LineSpec(p[code], Decimal(q)) for code, q in lines], activate=True, **billing,
        )  # fmt: skip
    # One contract waiting as a draft, one due in the next days.
    contract_create(
        company=company, client=clients[0], number="CTR-2026-100", signed_on=today, first_issue_at=first(-3),
        issuer=admin, lines=[LineSpec(p["SUP"], Decimal("1"))], activate=True,
    )  # fmt: skip
    contract_create(
        company=company, client=clients[4], number="CTR-2026-101", signed_on=today, first_issue_at=first(-10),
        issuer=admin, lines=[LineSpec(p["HOST"], Decimal("1"))], activate=False,
    )  # fmt: skip
    issued = _bill_history(company, admin, now) if bill else 0
    return {
        "company_id": company.pk,
        "clients": len(clients),
        "contracts": n + 2,
        "invoices": issued,
    }


def _bill_history(company, admin, now) -> int:  # type: ignore[no-untyped-def]
    """Issue every past invoice at its own instant (so the dashboard has a history), then record
    what a typical client base has paid: most invoices past their due date, some partly."""
    from recurent.contracts.models import Contract
    from recurent.payments.services import payment_record

    instants = sorted(
        {
            p.issue_at
            for c in Contract.objects.filter(company=company, status="active")
            for p in c.schedule().due(0, now)
        }
    )
    issued = 0
    for at in instants:
        issued += issue_due(as_of=at, company_id=company.pk, trigger="demo").issued
    today = now.astimezone(BUCHAREST).date()
    for n, inv in enumerate(
        company.invoices.filter(kind="invoice").order_by("issued_at", "number")
    ):
        if inv.due_date > today - timedelta(days=3) or n % 7 == 3:
            continue  # not due yet, or one in seven left unpaid (the overdue list)
        amount = inv.gross_total if n % 5 else (inv.gross_total / 2).quantize(Decimal("0.01"))
        paid_on = min(inv.due_date - timedelta(days=n % 4), today)
        payment_record(
            company=company, client=inv.client, date=paid_on, amount=amount, currency=inv.currency,
            reference=f"Plata factura {inv.full_number}", allocations=[(inv, amount)], as_of=now, user=admin,
        )  # fmt: skip
    return issued
