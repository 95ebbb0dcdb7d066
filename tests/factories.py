"""Test data built through the real services (so tests exercise the same validation)."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from recurent.catalog.services import product_create
from recurent.clients.services import client_create
from recurent.companies.models import Company, InvoiceSeries, Role
from recurent.companies.services import company_create, membership_grant, series_create
from recurent.contracts.services import LineSpec, contract_create

BUC = ZoneInfo("Europe/Bucharest")
_seq = itertools.count(1)

# Real, check-digit-valid identifiers.
CUI_SELLER = "RO18547290"
CUI_BUYERS = ["RO14399840", "RO13548146", "RO1590082", "RO16341004", "RO361579"]
IBAN_SELLER = "RO49AAAA1B31007593840000"
CNP = "1800101221144"


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """An aware Bucharest wall time (first occurrence when ambiguous)."""
    return datetime(y, m, d, hh, mm, tzinfo=BUC)


def user(username: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username=username, password="pw-" + username, **kw)


def company(**kw: Any) -> Company:
    fields = dict(
        legal_name="Recurent Demo SRL", cui=CUI_SELLER, trade_register="J12/1234/2015",
        street="Str. Memorandumului 28", city="Cluj-Napoca", county="RO-CJ", postal_code="400114",
        iban=IBAN_SELLER, bank="Banca Transilvania", vat_payer=True, email="facturi@demo.ro",
    )  # fmt: skip
    fields.update(kw)
    return company_create(**fields)


def series(c: Company, code: str = "REC", **kw: Any) -> InvoiceSeries:
    return series_create(company=c, code=code, **kw)


def product(c: Company, **kw: Any):  # type: ignore[no-untyped-def]
    n = next(_seq)
    fields = dict(code=f"P{n}", name=f"Abonament {n}", unit_code="MON", unit_name="lună",
                  unit_price=Decimal("100.00"), currency="RON", vat_category="S", vat_rate="standard")  # fmt: skip
    fields.update(kw)
    return product_create(company=c, **fields)


def client(c: Company, **kw: Any):  # type: ignore[no-untyped-def]
    n = next(_seq)
    fields = dict(kind="company", name=f"Client {n} SRL", tax_id=CUI_BUYERS[n % len(CUI_BUYERS)],
                  street="Bd. Eroilor 1", city="Cluj-Napoca", county="CJ", emails=[f"client{n}@example.ro"])  # fmt: skip
    fields.update(kw)
    return client_create(company=c, **fields)


def setup_company(role: str = Role.ADMIN):  # type: ignore[no-untyped-def]
    """A company with a default series and an admin user: (company, series, user)."""
    c = company()
    s = series(c)
    u = user()
    membership_grant(user=u, company=c, role=role)
    return c, s, u


def contract(
    c: Company,
    *,
    issuer,
    client_=None,
    lines: list[tuple[Any, str]] | None = None,  # type: ignore[no-untyped-def]
    first: datetime | None = None,
    activate: bool = True,
    **billing: Any,
):
    cl = client_ or client(c)
    if lines is None:
        lines = [(product(c), "1")]
    return contract_create(
        company=c,
        client=cl,
        number=f"C-{next(_seq)}",
        signed_on=date(2026, 1, 1),
        first_issue_at=first or local(2026, 1, 31),
        issuer=issuer,
        lines=[LineSpec(p, Decimal(q)) for p, q in lines],
        activate=activate,
        **billing,
    )
