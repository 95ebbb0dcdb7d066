"""One-off invoices: written by hand as a draft (no number), issued like a contract invoice.

A draft is editable and has no number. Issuing it goes through the same rules as the billing
engine and storno, never a copy of them:
- priced by ``engine.drafting.draft_invoice`` (VAT rate by the issue date, BNR rate of the day
  through ``rates.services.RateBook``, rounding in ``engine.money``);
- numbered by ``numbering.SeriesLock`` (series row locked, gapless, dates never go backwards);
- seller and buyer checked by ``engine.parties.check_party`` as ``issue_batch`` does;
- then the ``AFTER_ISSUE`` hooks (e-Factura queue, mail, balances, card charges, webhooks) in
  the issuing transaction, as for contract invoices and credit notes.
The issue date may be today or an earlier day, but never before the series' newest invoice
(the numbering module's clock rule, stated here on dates so the user sees which day is allowed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common.errors import as_validation_error
from recurent.companies.models import Company, InvoiceSeries
from recurent.engine.cycles import BUCHAREST
from recurent.engine.drafting import Draft, DraftError, LineTerms, draft_invoice
from recurent.engine.money import MoneyError
from recurent.engine.vat import VatCategory, VatError, VatRateCode
from recurent.rates.services import RateBook, RateUnavailable

from .models import (
    Invoice,
    InvoiceDraft,
    InvoiceDraftLine,
    InvoiceKind,
    InvoiceLine,
    InvoiceOrigin,
    InvoicePeriod,
)
from .numbering import SeriesLock, vat_breakdown
from .services import AFTER_ISSUE, party_problems
from .snapshots import buyer_snapshot, seller_snapshot


def _error(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params or None)})


def line_row(li: Any, invoice: Invoice | None = None) -> InvoiceLine:
    """The stored line of a drafted one (``engine.drafting.DraftLine``): the one-off invoice
    writes it, the proforma draws it unsaved."""
    return InvoiceLine(
        invoice=invoice, position=li.position, product_code=li.product_code, name=li.name,
        description=li.description, unit_code=li.unit_code, unit_name=li.unit_name,
        quantity=li.quantity, unit_price=li.unit_price, vat_category=li.vat_category.value,
        vat_rate=li.vat_rate, net=li.net,
    )  # fmt: skip


@dataclass(frozen=True)
class DraftLineSpec:
    """One line as the user gives it: from a product (blanks taken from it) or free text."""

    quantity: Decimal
    product: Product | None = None
    name: str = ""
    description: str = ""
    unit_code: str = ""
    unit_name: str = ""
    unit_price: Decimal | None = None
    vat_category: str = ""
    vat_rate: str = ""


def _line_rows(company: Company, lines: Sequence[DraftLineSpec]) -> list[InvoiceDraftLine]:
    if not lines:
        raise _error("lines", _("an invoice needs at least one line"), "empty")
    rows = []
    for pos, spec in enumerate(lines, start=1):
        p = spec.product
        where = f"lines[{pos}]"
        if p is not None and p.company_id != company.pk:
            raise _error(
                f"{where}.product", _("the product belongs to another company"), "other_company"
            )
        name = (spec.name or (p.name if p else "")).strip()
        if not name:
            raise _error(f"{where}.name", _("give a product or a name"), "required")
        price = spec.unit_price if spec.unit_price is not None else (p.unit_price if p else None)
        if price is None:
            raise _error(f"{where}.unit_price", _("give a unit price"), "required")
        if spec.quantity is None or Decimal(spec.quantity) <= 0:
            raise _error(f"{where}.quantity", _("must be greater than zero"), "not_positive")
        if Decimal(price) < 0:
            raise _error(f"{where}.unit_price", _("cannot be negative"), "negative")
        category = spec.vat_category or (p.vat_category if p else "S")
        rate = spec.vat_rate or (p.vat_rate if p else VatRateCode.STANDARD.value)
        if category not in {c.value for c in VatCategory}:
            raise _error(
                f"{where}.vat_category",
                _("unknown VAT category %(value)s"),
                "unknown",
                value=category,
            )
        if rate not in {r.value for r in VatRateCode}:
            raise _error(
                f"{where}.vat_rate", _("unknown VAT rate %(value)s"), "unknown", value=rate
            )
        rows.append(
            InvoiceDraftLine(
                position=pos,
                product=p,
                product_code=p.code if p else "",
                name=name[:100],
                description=spec.description or (p.description if p else ""),
                unit_code=(spec.unit_code or (p.unit_code if p else "C62")).upper(),
                unit_name=spec.unit_name or (p.unit_name if p else "buc"),
                quantity=Decimal(spec.quantity),
                unit_price=Decimal(price),
                vat_category=category,
                vat_rate=rate,
            )  # fmt: skip
        )
    return rows


def _check_header(
    *,
    company: Company,
    client: Client,
    series: InvoiceSeries,
    issue_date: date | None,
    due_date: date | None,
    currency: str,
    price_currency: str,
) -> None:
    if client.company_id != company.pk:
        raise _error("client", _("the client belongs to another company"), "other_company")
    if series.company_id != company.pk:
        raise _error("series", _("the series belongs to another company"), "other_company")
    if series.is_credit:
        raise _error("series", _("this series is for credit notes"), "credit_series")
    for field, value in (("currency", currency), ("price_currency", price_currency)):
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise _error(field, _("a three-letter ISO 4217 code, e.g. RON or EUR"), "invalid")
    if price_currency != currency and currency != "RON":
        raise _error(
            "currency", _("prices in %(price)s can be invoiced in %(price)s or RON"), "mismatch",
            price=price_currency,
        )  # fmt: skip
    if issue_date and due_date and due_date < issue_date:
        raise _error("due_date", _("cannot be before the issue date"), "before_issue")


@transaction.atomic
def invoice_create_draft(
    *,
    company: Company,
    client: Client,
    series: InvoiceSeries,
    lines: Sequence[DraftLineSpec],
    as_of: datetime,
    user: Any,
    issue_date: date | None = None,
    due_date: date | None = None,
    currency: str = "RON",
    price_currency: str | None = None,
    notes: str = "",
) -> InvoiceDraft:
    """Save a one-off invoice as a draft: checked, but neither numbered nor priced yet."""
    price_currency = price_currency or currency
    _check_header(company=company, client=client, series=series, issue_date=issue_date,
                  due_date=due_date, currency=currency, price_currency=price_currency)  # fmt: skip
    rows = _line_rows(company, lines)
    draft = InvoiceDraft.objects.create(
        company=company, client=client, series=series, issue_date=issue_date, due_date=due_date,
        currency=currency, price_currency=price_currency, notes=notes.strip(), created_by=user,
        created_at=as_of, updated_at=as_of,
    )  # fmt: skip
    for r in rows:
        r.draft = draft
    InvoiceDraftLine.objects.bulk_create(rows)
    return draft


@transaction.atomic
def invoice_draft_update(
    *,
    draft: InvoiceDraft,
    as_of: datetime,
    lines: Sequence[DraftLineSpec] | None = None,
    **fields: Any,
) -> InvoiceDraft:
    """Change a draft not yet issued: any of client, series, issue_date, due_date, currency,
    price_currency, notes; ``lines`` (when given) replace the draft's lines."""
    allowed = {"client", "series", "issue_date", "due_date", "currency", "price_currency", "notes"}
    for name in fields:
        if name not in allowed:
            raise _error(name, _("cannot be changed"), "unknown_field")
    d = InvoiceDraft.objects.select_for_update().get(pk=draft.pk)
    if d.invoice_id is not None:
        raise _error("draft", _("already issued; issue a storno to change it"), "issued")
    if d.review_status:  # a contract period under review: changed only through invoices.review
        raise _error("draft", _("a contract invoice under review: change it in the review queue"),
                     "under_review")  # fmt: skip
    if d.proforma_number:
        raise _error("draft", _("sent as proforma %(number)s; it cannot change"), "proforma_issued",
                     number=d.proforma_number)  # fmt: skip
    for name, value in fields.items():
        setattr(d, name, value)
    _check_header(company=d.company, client=d.client, series=d.series, issue_date=d.issue_date,
                  due_date=d.due_date, currency=d.currency, price_currency=d.price_currency)  # fmt: skip
    if lines is not None:
        rows = _line_rows(d.company, lines)
        d.lines.all().delete()
        for r in rows:
            r.draft = d
        InvoiceDraftLine.objects.bulk_create(rows)
    d.updated_at = as_of
    d.save()
    return d


def _terms(li: InvoiceDraftLine) -> LineTerms:
    return LineTerms(
        name=li.name, description=li.description, unit_code=li.unit_code,
        unit_name=li.unit_name, quantity=li.quantity, unit_price=li.unit_price,
        vat_category=VatCategory(li.vat_category), vat_rate_code=VatRateCode(li.vat_rate),
        product_code=li.product_code,
    )  # fmt: skip


def _issue_instant(d: InvoiceDraft, series: InvoiceSeries, as_of: datetime) -> datetime:
    """When the invoice is issued: ``as_of`` for today, the start of an earlier day otherwise;
    never before the series' newest invoice (``series`` is locked by the caller)."""
    today = as_of.astimezone(BUCHAREST).date()
    day = d.issue_date or today
    if day > today:
        raise _error("issue_date", _("cannot be in the future"), "future")
    last = series.last_issued_at
    if last is not None and day < last.astimezone(BUCHAREST).date():
        raise _error(
            "issue_date",
            _("series %(series)s already has an invoice dated %(last)s; the date cannot be earlier"),
            "before_series", series=series.code, last=last.astimezone(BUCHAREST).date().isoformat(),
        )  # fmt: skip
    at = as_of if day == today else datetime.combine(day, time(0, 0), tzinfo=BUCHAREST)
    # Same day as the series' newest invoice: moved up to it, as numbering does in real time.
    return max(at, last) if last is not None else at


def _price(d: InvoiceDraft, company: Company, issue_date: date) -> Draft:
    """The draft's lines priced by the engine for ``issue_date`` (rates read for that day)."""
    fx = fx_date = None
    if d.currency != "RON" or d.price_currency != "RON":
        foreign = d.price_currency if d.price_currency != "RON" else d.currency
        try:
            r = RateBook().rate(foreign, issue_date)
        except RateUnavailable as e:
            raise _error("currency", _("no BNR rate: %(reason)s"), "no_rate", reason=str(e)) from e
        fx, fx_date = r.rate, r.date
    due = d.due_date or issue_date
    if due < issue_date:
        raise _error("due_date", _("cannot be before the issue date"), "before_issue")
    lines = list(d.lines.all())
    # A line with a negative quantity is a credit (a contract's discount on its proforma,
    # proforma_period._draft_lines): the engine takes credits after the lines, as charges.
    credits = [li for li in lines if li.quantity < 0]
    try:
        priced = draft_invoice(
            lines=[_terms(li) for li in lines if li.quantity >= 0], issue_date=issue_date,
            payment_term_days=(due - issue_date).days, price_currency=d.price_currency,
            invoice_currency=d.currency, fx_rate=fx, fx_date=fx_date,
            seller_vat_payer=company.vat_payer, charges=[_terms(li) for li in credits],
        )  # fmt: skip
    except (DraftError, VatError, MoneyError) as e:
        raise as_validation_error(e) from e
    return priced


def _contract_columns(d: InvoiceDraft) -> dict[str, Any]:
    """A contract period's proforma (invoices.proforma_period) gives its invoice the contract
    and the period, as the billing run would have: emailed as the contract says, and once per
    period (``InvoicePeriod.invoice_period_once``); a one-off draft is a manual invoice."""
    if d.contract_id is None:
        return {"origin": InvoiceOrigin.MANUAL}
    c = d.contract
    assert c is not None
    return {"origin": InvoiceOrigin.SCHEDULE, "contract": c, "period_index": d.period_index,
            "period_start": d.period_start, "period_end": d.period_end,
            "contract_number": c.number, "contract_date": c.signed_on}  # fmt: skip


@transaction.atomic
def invoice_issue_draft(
    *, draft: InvoiceDraft, as_of: datetime, user: Any, vat_exemption_reason: str = ""
) -> Invoice:
    """Number and write the draft's invoice, then run the AFTER_ISSUE hooks. Returns it.
    ``vat_exemption_reason``: the legal basis (BT-120) of its E (not taxed) lines when it is not
    the usual exemption's (late-payment interest: outside the taxable base, not exempt)."""
    if as_of.tzinfo is None:
        raise _error("as_of", _("must be an aware instant"), "naive")
    # Locked so that the same draft is never issued twice (double click, API retry).
    d = (
        InvoiceDraft.objects.select_for_update()
        .select_related("company", "client")
        .get(pk=draft.pk)
    )
    if d.invoice_id is not None:
        raise _error("draft", _("already issued as %(number)s"), "issued",
                     number=d.invoice.full_number if d.invoice else "")  # fmt: skip
    # A contract period under review is issued only by its approval (invoices.review sets
    # "approved" in this same transaction first), never past the queue, and never once skipped.
    if d.review_status in ("pending", "skipped"):
        raise _error("draft", _("a contract invoice under review: approve it in the review queue"),
                     "under_review")  # fmt: skip
    # The series row locked before its newest date is read: the rule below and the number
    # taken by SeriesLock see the same row (a re-lock of a held row waits for nothing).
    series = InvoiceSeries.objects.select_for_update().get(pk=d.series_id)
    issued_at = _issue_instant(d, series, as_of)
    issue_date = issued_at.astimezone(BUCHAREST).date()
    company, client = d.company, d.client
    seller, buyer = seller_snapshot(company), buyer_snapshot(client)
    for role, field, snap in (("seller", "company", seller), ("buyer", "client", buyer)):
        problems = party_problems(snap, role)
        if problems:
            raise _error(field, _("incomplete data: %(problems)s"), "incomplete",
                         problems="; ".join(f"{f}: {m}" for f, m in problems))  # fmt: skip
    priced = _price(d, company, issue_date)

    lock = SeriesLock([series.pk], as_of=issued_at)
    s, year, number, full_number = lock.take(series.pk)
    lock.save()
    t = priced.totals
    invoice = Invoice.objects.create(
        company=company, series=s, year=year, number=number, full_number=full_number,
        kind=InvoiceKind.INVOICE, **_contract_columns(d), client=client,
        issued_at=issued_at, issue_date=priced.issue_date, due_date=priced.due_date,
        issuer=user, issuer_name=(user.get_full_name() or user.get_username())[:150],
        currency=priced.currency, price_currency=priced.price_currency, fx_rate=priced.fx_rate,
        fx_date=priced.fx_date, net_total=t.net, vat_total=t.vat, gross_total=t.gross,
        vat_total_ron=t.vat_ron, vat_breakdown=vat_breakdown(t, {"E": vat_exemption_reason}),
        seller=seller, buyer=buyer, buyer_name=buyer["name"][:200], notes=d.notes,
        vat_on_collection=company.vat_on_collection and company.vat_payer,
    )  # fmt: skip
    InvoiceLine.objects.bulk_create([line_row(li, invoice) for li in priced.lines])
    if d.contract_id is not None:  # exactly once per period: InvoicePeriod.invoice_period_once
        assert d.period_index is not None and d.period_start and d.period_end
        InvoicePeriod.objects.create(
            invoice=invoice, contract_id=d.contract_id, period_index=d.period_index,
            period_start=d.period_start, period_end=d.period_end,
        )  # fmt: skip
    d.invoice = invoice
    d.updated_at = as_of
    d.save(update_fields=["invoice", "updated_at"])
    for hook in AFTER_ISSUE:
        hook([invoice])
    return invoice


# ---- input from JSON (the API and `recurent invoice create` share it) ---------------------


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as e:
        raise _error(field, _("not a number: %(value)s"), "not_a_number", value=value) from e


def _date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as e:
        raise _error(
            field, _("not a date (YYYY-MM-DD): %(value)s"), "not_a_date", value=value
        ) from e


def draft_fields_from_json(*, company: Company, data: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``invoice_create_draft`` from a JSON object, each error
    named by its path (``lines[2].quantity``), nothing looked up outside ``company``."""
    if not isinstance(data, Mapping):
        raise _error("__all__", _("expected a JSON object"), "not_an_object")
    known = {"client", "series", "issue_date", "due_date", "currency", "price_currency", "notes",
             "lines", "email"}  # fmt: skip
    for key in data:
        if key not in known:
            raise _error(str(key), _("unknown field"), "unknown_field")
    client = _by_key(Client, company, data.get("client"), "client", ("tax_id", "name"))
    series_key = data.get("series")
    if series_key in (None, ""):
        series = InvoiceSeries.objects.filter(company=company, is_default=True).first()
        if series is None:
            raise _error("series", _("required (the company has no default series)"), "required")
    else:
        series = _by_key(InvoiceSeries, company, series_key, "series", ("code",))
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise _error("lines", _("an invoice needs at least one line"), "empty")
    specs = []
    for pos, raw in enumerate(raw_lines, start=1):
        where = f"lines[{pos}]"
        if not isinstance(raw, Mapping):
            raise _error(where, _("expected a JSON object"), "not_an_object")
        product = None
        if raw.get("product") not in (None, ""):
            product = _by_key(Product, company, raw["product"], f"{where}.product", ("code",))
        if "quantity" not in raw:
            raise _error(f"{where}.quantity", _("required"), "required")
        price = raw.get("unit_price")
        specs.append(
            DraftLineSpec(
                quantity=_decimal(raw["quantity"], f"{where}.quantity"),
                product=product,
                name=str(raw.get("name", "")),
                description=str(raw.get("description", "")),
                unit_code=str(raw.get("unit_code", "")),
                unit_name=str(raw.get("unit_name", "")),
                unit_price=None if price in (None, "") else _decimal(price, f"{where}.unit_price"),
                vat_category=str(raw.get("vat_category", "")),
                vat_rate=str(raw.get("vat_rate", "")),
            )  # fmt: skip
        )
    currency = str(data.get("currency") or "RON").upper()
    return {
        "company": company, "client": client, "series": series, "lines": specs,
        "issue_date": _date(data.get("issue_date"), "issue_date"),
        "due_date": _date(data.get("due_date"), "due_date"), "currency": currency,
        "price_currency": str(data.get("price_currency") or currency).upper(),
        "notes": str(data.get("notes") or ""),
    }  # fmt: skip


def _by_key(
    model: Any, company: Company, key: Any, field: str, text_fields: tuple[str, ...]
) -> Any:
    """A row of ``company`` by id (a number) or by one of ``text_fields`` (exact)."""
    if key in (None, ""):
        raise _error(field, _("required"), "required")
    qs = model.objects.filter(company=company)
    if isinstance(key, int) or (
        isinstance(key, str) and key.isdigit() and "tax_id" not in text_fields
    ):
        found = qs.filter(pk=int(key)).first()
    else:
        found = None
        for f in text_fields:
            # Two rows with the same tax id or name: refuse rather than invoice the wrong one.
            rows = list(qs.filter(**{f: str(key)}).order_by("pk")[:2])
            if len(rows) > 1:
                raise _error(
                    field,
                    _("%(key)s names more than one in this company; give the id"),
                    "ambiguous",
                    key=key,
                )
            if rows:
                found = rows[0]
                break
    if found is None:
        raise _error(field, _("%(key)s not found in this company"), "not_found", key=key)
    return found


@transaction.atomic
def invoice_create(
    *, as_of: datetime, user: Any, vat_exemption_reason: str = "", **fields: Any
) -> Invoice:
    """Create and issue at once (API, CLI): a draft saved and issued in one transaction, so an
    error anywhere leaves neither the draft nor a number behind."""
    draft = invoice_create_draft(as_of=as_of, user=user, **fields)
    return invoice_issue_draft(
        draft=draft, as_of=as_of, user=user, vat_exemption_reason=vat_exemption_reason
    )
