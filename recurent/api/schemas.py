"""Request and response shapes; the OpenAPI schema is generated from these."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AwareDatetime, BeforeValidator, WithJsonSchema, field_validator

from .contract_options import ContractOptionsIn, ContractOptionsOut, ContractOptionsPatch
from .indexation_schemas import IndexationIn, IndexationOut, IndexationPatch
from .models import EVENT_TYPES
from .review_schemas import ReviewOptionIn, ReviewOptionOut, ReviewOptionPatch

# Dates outside this range are refused up front: no contract runs that long, and the schedule
# arithmetic on year 9999 would overflow.
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_ID = 2**63 - 1  # a signed 64-bit integer: SQLite INTEGER, PostgreSQL bigint

Cycle = Literal["weekly", "monthly", "quarterly", "half-yearly", "yearly", "days"]
VatCat = Literal["S", "Z", "E", "AE", "K", "G", "O"]
VatRate = Literal["standard", "reduced", "reduced-low", "zero"]
EventType = Literal[(*EVENT_TYPES, "*")]  # type: ignore[valid-type]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
DECIMAL_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _decimal_text(v: Any) -> Any:
    """Amounts and quantities as the importer takes them: a string of ASCII digits with an
    optional decimal point, or a JSON integer. A JSON number with a fraction is a binary float
    (0.1 is not exact) and ``Decimal`` would also read Arabic-Indic or other Unicode digits."""
    if isinstance(v, bool) or isinstance(v, float):
        raise ValueError('give the amount as a string ("12.50") or an integer, not a float')
    if isinstance(v, int | Decimal):
        return v
    if isinstance(v, str) and DECIMAL_TEXT.match(v.strip()):
        return v.strip()
    raise ValueError('digits 0-9 with an optional decimal point, as a string ("12.50")')


# In the schema: what is accepted, so that generated clients send strings.
DECIMAL_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": DECIMAL_TEXT.pattern, "maxLength": 40},
            {"type": "integer"},
        ]
    }
)
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(max_digits=16, decimal_places=4, ge=0),
    DECIMAL_SCHEMA,
]
Quantity = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(max_digits=14, decimal_places=4, gt=0),
    DECIMAL_SCHEMA,
]
Days = Annotated[int, Field(ge=0, le=3650)]


def _check_text(v: Any) -> Any:
    if isinstance(v, str):
        if "\x00" in v:
            raise ValueError("must not contain NUL characters")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    elif isinstance(v, list):
        for x in v:
            _check_text(x)
    elif isinstance(v, datetime | date) and not MIN_YEAR <= v.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return v


class In(Schema):
    """Base of every request body: no NUL bytes nor broken Unicode, sane years."""

    model_config = {"extra": "forbid"}

    @field_validator("*", mode="after")
    @classmethod
    def _sane(cls, v: Any) -> Any:
        return _check_text(v)


# --- problems and pages ---------------------------------------------------------------------


class FieldError(Schema):
    field: str = Field(description="the input field (dotted path), empty for the whole request")
    code: str
    message: str


class ProblemOut(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    code: str = Field(description="stable machine-readable code")
    detail: str
    errors: list[FieldError] = []


class Page(Schema):
    count: int
    limit: int
    offset: int


# --- products -------------------------------------------------------------------------------


class ProductIn(In):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    unit_code: str = Field("C62", min_length=1, max_length=3)
    unit_name: str = Field("buc", max_length=20)
    unit_price: Money
    currency: Currency = "RON"
    vat_category: VatCat = "S"
    vat_rate: VatRate = "standard"
    active: bool = True
    self_service: bool = False


class ProductPatch(In):
    code: str | None = Field(None, min_length=1, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = None
    unit_code: str | None = Field(None, min_length=1, max_length=3)
    unit_name: str | None = Field(None, max_length=20)
    unit_price: Money | None = None
    currency: Currency | None = None
    vat_category: VatCat | None = None
    vat_rate: VatRate | None = None
    active: bool | None = None
    self_service: bool | None = None


class ProductOut(Schema):
    id: int
    code: str
    name: str
    description: str
    unit_code: str
    unit_name: str
    unit_price: Decimal
    currency: str
    vat_category: str
    vat_rate: str
    active: bool
    self_service: bool
    created_at: datetime
    updated_at: datetime


class ProductPage(Page):
    items: list[ProductOut]


# --- contracts ------------------------------------------------------------------------------


class LineIn(In):
    product_id: int = Field(ge=1, le=MAX_ID)
    quantity: Quantity
    unit_price: Money | None = Field(None, description="overrides the product's price")
    description: str = Field("", max_length=100, description="overrides the product's name")


class ContractIn(In, IndexationIn, ReviewOptionIn, ContractOptionsIn):
    client_id: int = Field(ge=1, le=MAX_ID)
    number: str = Field(min_length=1, max_length=50)
    signed_on: date
    first_issue_at: AwareDatetime = Field(description="date and time of the first invoice")
    ends_at: AwareDatetime | None = Field(None, description="nothing is invoiced from then on")
    series_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="default: the company's default series"
    )
    issuer_id: int | None = Field(None, ge=1, le=MAX_ID, description="default: the token's user")
    cycle: Cycle = "monthly"
    every_days: int | None = Field(None, ge=1, le=3660, description="for cycle 'days'")
    in_arrears: bool = False
    payment_term_days: Days = 15
    currency: Currency = "RON"
    invoice_currency: Currency = "RON"
    auto_email: bool = False
    email_template_code: str = Field("", max_length=40)
    proforma_first: bool = Field(
        False, description="a proforma at each period; the invoice when a payment covers it"
    )
    proforma_valid_days: int = Field(15, ge=1, le=3660, description="an unpaid proforma expires")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    activate: bool = Field(False, description="start billing at once (else a draft)")


class ContractPatch(In, IndexationPatch, ReviewOptionPatch, ContractOptionsPatch):
    client_id: int | None = Field(None, ge=1, le=MAX_ID)
    number: str | None = Field(None, min_length=1, max_length=50)
    signed_on: date | None = None
    first_issue_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    series_id: int | None = Field(None, ge=1, le=MAX_ID)
    issuer_id: int | None = Field(None, ge=1, le=MAX_ID)
    cycle: Cycle | None = None
    every_days: int | None = Field(None, ge=1, le=3660)
    in_arrears: bool | None = None
    payment_term_days: Days | None = None
    currency: Currency | None = None
    invoice_currency: Currency | None = None
    auto_email: bool | None = None
    email_template_code: str | None = Field(None, max_length=40)
    proforma_first: bool | None = None
    proforma_valid_days: int | None = Field(None, ge=1, le=3660)


class CancelIn(In):
    at_period_end: bool = Field(
        False, description="false: nothing more is invoiced; true: the current period is the last"
    )
    credit_unused: bool | None = Field(
        None,
        description="cancelled now, billed in advance: credit the unused days of the period "
        "already invoiced (a credit note). null: the company's proration policy decides "
        "(immediately: yes)",
    )


class LinesIn(In):
    lines: list[LineIn] = Field(min_length=1, max_length=200)


class LineOut(Schema):
    id: int
    product_id: int
    position: int
    quantity: Decimal
    unit_price: Decimal | None
    description: str
    from_index: int = Field(description="first period index this line is invoiced in")
    until_index: int | None = Field(description="first period index it is no longer invoiced in")


class ContractOut(IndexationOut, ReviewOptionOut, ContractOptionsOut):
    id: int
    number: str
    client_id: int
    signed_on: date
    first_issue_at: datetime
    ends_at: datetime | None
    series_id: int
    issuer_id: int
    cycle: str
    every_days: int | None
    in_arrears: bool
    payment_term_days: int
    currency: str
    invoice_currency: str
    auto_email: bool
    email_template_code: str
    proforma_first: bool
    proforma_valid_days: int
    status: str
    next_index: int = Field(description="the next period to invoice")
    next_issue_at: datetime | None
    final_index: int | None
    paused_at: datetime | None
    hold_kind: str
    hold_reason: str
    lines: list[LineOut]
    created_at: datetime
    updated_at: datetime


class UnusedCreditOut(Schema):
    id: int
    full_number: str
    gross_total: Decimal
    currency: str
    credited_invoice_id: int


class ContractCancelledOut(ContractOut):
    credit_note: UnusedCreditOut | None = Field(
        None, description="the credit note of the unused days, when there was one"
    )


class ContractPage(Page):
    items: list[ContractOut]


class PeriodOut(Schema):
    index: int
    issue_at: datetime
    period_start: date
    period_end: date
    invoiced: bool


class ScheduleOut(Schema):
    contract_id: int
    next_index: int
    periods: list[PeriodOut]


# --- invoices -------------------------------------------------------------------------------


class InvoiceLineOut(Schema):
    id: int
    position: int
    product_code: str
    name: str
    description: str
    unit_code: str
    unit_name: str
    quantity: Decimal
    unit_price: Decimal
    vat_category: str
    vat_rate: Decimal
    net: Decimal
    # On a grouped invoice (docs/grouped-invoices.md): the contract and period the line bills.
    contract_id: int | None = None
    period_start: date | None = None
    period_end: date | None = None


class InvoiceOut(Schema):
    id: int
    full_number: str
    series_id: int
    series: str
    year: int
    number: int
    kind: str
    origin: str
    status: str
    client_id: int
    contract_id: int | None
    period_index: int | None
    period_start: date | None
    period_end: date | None
    credited_invoice_id: int | None
    issued_at: datetime
    issue_date: date
    due_date: date
    currency: str
    price_currency: str
    fx_rate: Decimal | None
    fx_date: date | None
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    vat_total_ron: Decimal | None
    buyer_name: str
    contract_number: str


class InvoiceDetailOut(InvoiceOut):
    vat_breakdown: list[dict[str, Any]]
    seller: dict[str, Any]
    buyer: dict[str, Any]
    lines: list[InvoiceLineOut]


class InvoicePage(Page):
    items: list[InvoiceOut]


# --- billing --------------------------------------------------------------------------------


class PreviewItem(Schema):
    contract: str
    client: str
    kind: Literal["invoice", "review", "proforma"] = Field(
        description="invoice: issued at once; review: a draft waiting for approval; proforma: "
        "a proforma first (neither takes an invoice number: ``number`` is empty)"
    )
    number: str
    period_start: date
    period_end: date
    currency: str
    net: Decimal
    vat: Decimal
    total: Decimal


class PreviewHeld(Schema):
    contract_id: int
    reason: str


class PreviewOut(Schema):
    as_of: datetime
    count: int
    items: list[PreviewItem]
    held: list[PreviewHeld]


# --- webhooks -------------------------------------------------------------------------------


class EndpointIn(In):
    url: str = Field(min_length=1, max_length=500)
    events: list[EventType] = Field(min_length=1)
    description: str = Field("", max_length=200)


class EndpointPatch(In):
    url: str | None = Field(None, min_length=1, max_length=500)
    events: list[EventType] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="signs every delivery; shown only now")


class EndpointPage(Page):
    items: list[EndpointOut]


class ReplayIn(In):
    since: AwareDatetime | None = Field(None, description="only deliveries created since then")


class ReplayOut(Schema):
    requeued: int


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    give_up_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_response: str
    last_error: str
    delivered_at: datetime | None


class DeliveryDetailOut(DeliveryOut):
    body: str


class DeliveryPage(Page):
    items: list[DeliveryOut]


class StornoLineIn(In):
    line_id: int = Field(ge=1, description="a line of the invoice (its id in `lines`)")
    quantity: Quantity


class StornoCreditIn(In):
    lines: list[StornoLineIn] | None = Field(
        None, max_length=500, description="omit to credit everything not yet credited"
    )
    series_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="default: the credit-note series"
    )
    contract_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="a grouped invoice: credit this contract's lines"
    )


# --- payments -------------------------------------------------------------------------------

PaymentMethodIn = Literal["bank_transfer", "card", "cash", "direct_debit", "compensation"]
Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(max_digits=16, decimal_places=2, gt=0),
    DECIMAL_SCHEMA,
]


class AllocationIn(In):
    invoice_id: int = Field(ge=1, le=MAX_ID)
    amount: Amount


class PaymentIn(In):
    client_id: int = Field(ge=1, le=MAX_ID)
    date: date
    amount: Amount
    currency: Currency = "RON"
    method: PaymentMethodIn = "bank_transfer"
    reference: str = Field("", max_length=200)
    receipt_number: str = Field("", max_length=40, description="required for cash")
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=500)
    issue_receipt: bool = Field(
        False, description="cash in lei: issue its receipt (numbered; replaces receipt_number)"
    )


class AllocateIn(In):
    allocations: list[AllocationIn] = Field(min_length=1, max_length=500)


class ReverseIn(In):
    reason: str = Field(min_length=1, max_length=1000)


class AllocationOut(Schema):
    id: int
    invoice_id: int
    amount: Decimal
    created_at: datetime


class PaymentOut(Schema):
    id: int
    client_id: int
    date: date
    amount: Decimal
    currency: str
    method: str
    reference: str
    receipt_number: str
    source: str
    recorded_at: datetime
    reversed: bool
    reversed_reason: str
    reversed_at: datetime | None
    unallocated: Decimal
    allocations: list[AllocationOut]
    proforma_id: int | None = Field(None, description="paid against this proforma")
    receipt_id: int | None = Field(
        None, description="its receipt; PDF at /payments/{id}/receipt.pdf"
    )
    cash_limit_warning: str = Field("", description="set when above the legal daily cash limit")


class PaymentPage(Page):
    items: list[PaymentOut]
