"""Clients (buyers) in the API: moved out of schemas.py, which is at its size limit."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from .schemas import Days, In, Page

# docs/grouped-invoices.md
ONE_INVOICE = (
    "contracts falling due in the same run (same series, currency and issue date) go on one "
    "invoice, a line group per contract"
)

ClientKind = Literal["company", "individual"]


class ClientIn(In):
    kind: ClientKind = "company"
    name: str = Field(min_length=1, max_length=200)
    tax_id: str = Field("", max_length=16)
    trade_register: str = Field("", max_length=40)
    street: str = Field(min_length=1, max_length=150)
    city: str = Field(min_length=1, max_length=50)
    county: str = Field("", max_length=6)
    country: str = Field("RO", min_length=2, max_length=2)
    postal_code: str = Field("", max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)
    iban: str = Field("", max_length=34)
    bank: str = Field("", max_length=100)
    payment_term_days: Days = 15
    notes: str = ""
    one_invoice_per_client: bool = Field(False, description=ONE_INVOICE)


class ClientPatch(In):
    kind: ClientKind | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    tax_id: str | None = Field(None, max_length=16)
    trade_register: str | None = Field(None, max_length=40)
    street: str | None = Field(None, min_length=1, max_length=150)
    city: str | None = Field(None, min_length=1, max_length=50)
    county: str | None = Field(None, max_length=6)
    country: str | None = Field(None, min_length=2, max_length=2)
    postal_code: str | None = Field(None, max_length=20)
    emails: list[str] | None = Field(None, max_length=20)
    iban: str | None = Field(None, max_length=34)
    bank: str | None = Field(None, max_length=100)
    payment_term_days: Days | None = None
    notes: str | None = None
    one_invoice_per_client: bool | None = None


class ClientOut(Schema):
    id: int
    kind: str
    name: str
    tax_id: str
    trade_register: str
    street: str
    city: str
    county: str
    country: str
    postal_code: str
    emails: list[str]
    iban: str
    bank: str
    payment_term_days: int
    notes: str
    vat_on_collection: bool
    inactive_at_anaf: bool
    one_invoice_per_client: bool
    created_at: datetime
    updated_at: datetime


class ClientPage(Page):
    items: list[ClientOut]
