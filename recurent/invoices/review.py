"""Review before numbering: a contract's period waits as a draft until a person approves it.

A contract with ``review_before_issue`` (or any contract of a company with it) is claimed,
drafted and priced by the billing run exactly as for an invoice (``services.issue_batch``);
only the last step differs: ``review_prepare`` writes an ``InvoiceDraft`` for the contract
and the period (status "pending", no number), and the contract's cursor moves on in the same
transaction, so that the next period is never blocked by a draft waiting for review.

The person then changes quantities or notes (``review_update``), approves (``review_approve``)
or skips (``review_skip``). Approval is the one-off path, ``oneoff.invoice_issue_draft``: priced
again for the approval day, numbered under the series lock (gapless, dates never backwards),
the AFTER_ISSUE hooks (e-Factura, mail, balances) in the same transaction. Exactly once per
(contract, period) twice over: ``proforma_once_per_period`` for the draft, and
``invoice_period_once`` (InvoicePeriod) for its invoice (the draft carries the contract and
the period).
A contract's periods are approved in their order, so that its numbers follow its periods.
A skipped draft never gets a number; its one-off charges go on the contract's next period.

Drafts waiting longer than the company's ``review_stale_days`` are reported on the dashboard
(``review_stale``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from recurent.common.errors import field_error
from recurent.contracts.models import Contract, ContractCharge
from recurent.contracts.services import quantity_problem
from recurent.engine.cycles import BUCHAREST
from recurent.engine.money import round_money

from .models import Invoice, InvoiceDraft, InvoiceDraftLine, ReviewStatus
from .oneoff import invoice_issue_draft


def review_split(ready: list[Any]) -> tuple[list[Any], list[Any]]:
    """(the contracts invoiced now, those whose period waits for review) of a drafted block of
    ``services.issue_batch``: one query per block."""
    if not ready:
        return ready, []
    ids = set(
        Contract.objects.filter(pk__in=[c.pk for c, _, _ in ready])
        .filter(Q(review_before_issue=True) | Q(company__review_before_issue=True))
        .values_list("pk", flat=True)
    )
    if not ids:
        return ready, []
    return [r for r in ready if r[0].pk not in ids], [r for r in ready if r[0].pk in ids]


def review_prepare(by_review: list[Any], *, shared: Any, issued_at: datetime) -> list[int]:
    """A draft waiting for review for each (contract, period, priced draft) of the block, inside
    the run's transaction, with the lines the run priced (``proforma_period._draft_lines``: the
    contract lines in force, the pending one-off charges, each discount as a line of its own).
    Returns the drafts' ids. A second draft for a period (``proforma_once_per_period``) is not
    caught: it rolls the whole block back, as a duplicate invoice would."""
    if not by_review:
        return []
    from .proforma_period import _draft_lines

    # Charges already carried by a draft still waiting (an earlier period) stay on it.
    held: set[int] = set()
    waiting = InvoiceDraft.objects.filter(
        contract_id__in=[c.pk for c, _, _ in by_review], review_status=ReviewStatus.PENDING
    )
    for ids in waiting.values_list("review_charges", flat=True):
        held.update(ids or ())
    out: list[int] = []
    for c, period, priced in by_review:
        if period.index == c.next_index:
            c.charges = [ch for ch in c.charges if ch[0] not in held]
        charges = [ch[0] for ch in c.charges] if period.index == c.next_index else []
        d = InvoiceDraft.objects.create(
            company_id=c.company_id, client_id=c.client_id, series_id=c.series_id,
            currency=c.invoice_currency, price_currency=c.currency, created_by_id=c.issuer_id,
            contract_id=c.pk, period_index=period.index, period_start=period.start,
            period_end=period.end, review_status=ReviewStatus.PENDING, review_charges=charges,
            created_at=issued_at, updated_at=issued_at,
        )  # fmt: skip
        lines = _draft_lines(shared, c, period.index, priced)
        for li in lines:
            li.draft = d
        InvoiceDraftLine.objects.bulk_create(lines)
        out.append(d.pk)
    return out


def _locked_pending(draft: InvoiceDraft) -> InvoiceDraft:
    """The draft, locked (a double click, an API retry and a second reviewer wait here and then
    see what the first did), if it still waits for review; otherwise why not."""
    d = InvoiceDraft.objects.select_for_update().get(pk=draft.pk)
    if d.review_status == "" or d.contract_id is None:
        raise field_error("draft", _("not a contract invoice waiting for review"), "not_review")
    if d.invoice_id is not None:
        number = Invoice.objects.filter(pk=d.invoice_id).values_list("full_number", flat=True)
        raise field_error("draft", _("already issued as %(number)s"), "issued",
                          number=number.first() or "")  # fmt: skip
    if d.review_status == ReviewStatus.SKIPPED:
        raise field_error("draft", _("skipped in review; it will not be issued"), "skipped")
    return d


@transaction.atomic
def review_approve(*, draft: InvoiceDraft, as_of: datetime, user: Any) -> Invoice:
    """Approve a draft waiting for review: its invoice is numbered and issued now (the one-off
    path), dated the approval day and due after the contract's payment term; the one-off
    charges it carries are marked as invoiced. Returns the invoice."""
    if as_of.tzinfo is None:
        raise field_error("as_of", _("must be an aware instant"), "naive")
    d = _locked_pending(draft)
    contract_id = d.contract_id
    assert contract_id is not None  # _locked_pending refuses a draft without a contract
    earlier = (
        InvoiceDraft.objects.filter(
            contract_id=contract_id,
            review_status=ReviewStatus.PENDING,
            period_start__lt=d.period_start,
        )  # fmt: skip
        .order_by("period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    if earlier is not None:
        raise field_error(
            "draft",
            _("approve or skip this contract's earlier period (from %(start)s) first"),
            "earlier_pending",
            start=earlier.isoformat(),
        )
    term = Contract.objects.values_list("payment_term_days", flat=True).get(pk=contract_id)
    day = d.issue_date or as_of.astimezone(BUCHAREST).date()
    d.due_date = day + timedelta(days=term)
    d.review_status, d.reviewed_at, d.reviewed_by = ReviewStatus.APPROVED, as_of, user
    d.updated_at = as_of
    d.save(update_fields=["due_date", "review_status", "reviewed_at", "reviewed_by", "updated_at"])
    invoice = invoice_issue_draft(draft=d, as_of=as_of, user=user)
    if d.review_charges:
        # ``invoice IS NULL`` in the WHERE and the count checked, as the billing run does: a
        # charge is invoiced once, or the approval is rolled back.
        n = ContractCharge.objects.filter(pk__in=d.review_charges, invoice__isnull=True).update(
            invoice=invoice
        )
        if n != len(d.review_charges):
            raise field_error(
                "draft", _("its one-off charges were invoiced meanwhile"), "charges_changed"
            )
    return invoice


@dataclass
class ApproveResult:
    invoices: list[Invoice] = field(default_factory=list)
    errors: list[tuple[int, ValidationError]] = field(default_factory=list)  # (draft id, why)


def review_approve_many(
    *, drafts: Sequence[InvoiceDraft], as_of: datetime, user: Any
) -> ApproveResult:
    """Approve several drafts in the order they were prepared (each contract's periods in
    their order), each in its own transaction: one that cannot be issued is reported with its
    reason and the others go on (a later period of its contract then waits for it)."""
    result = ApproveResult()
    for d in sorted(drafts, key=lambda d: (d.created_at, d.period_start or d.created_at, d.pk)):
        try:
            result.invoices.append(review_approve(draft=d, as_of=as_of, user=user))
        except ValidationError as e:
            result.errors.append((d.pk, e))
    return result


@transaction.atomic
def review_skip(*, draft: InvoiceDraft, as_of: datetime, user: Any) -> InvoiceDraft:
    """Skip a draft waiting for review: the period is never invoiced and no number is taken;
    the one-off charges it carried go on the contract's next period."""
    d = _locked_pending(draft)
    d.review_status, d.reviewed_at, d.reviewed_by = ReviewStatus.SKIPPED, as_of, user
    d.review_charges = []
    d.updated_at = as_of
    d.save(
        update_fields=["review_status", "reviewed_at", "reviewed_by", "review_charges",
                       "updated_at"]
    )  # fmt: skip
    return d


def _quantity(value: Any, where: str) -> Decimal:
    try:
        q = Decimal(str(value))
    except (InvalidOperation, ValueError) as e:
        raise field_error(where, _("not a number: %(value)s"), "not_a_number", value=value) from e
    if not q.is_finite():
        raise field_error(where, _("not a number: %(value)s"), "not_a_number", value=value)
    problem = quantity_problem(q)
    if problem is not None:
        raise ValidationError({where: problem})
    return q


@transaction.atomic
def review_update(
    *,
    draft: InvoiceDraft,
    as_of: datetime,
    quantities: Mapping[int, Any] | None = None,
    notes: str | None = None,
) -> InvoiceDraft:
    """Change a draft waiting for review: ``quantities`` {line position: new quantity} and the
    invoice's ``notes``. Everything is checked before anything is written. A discount line
    (negative quantity) cannot be changed itself: a percentage one is priced again for its
    line's new quantity, a fixed amount keeps the amount the run gave it."""
    d = _locked_pending(draft)
    lines = {li.position: li for li in d.lines.all()}
    changed: list[InvoiceDraftLine] = []
    for pos, value in (quantities or {}).items():
        where = f"lines[{pos}].quantity"
        li = lines.get(int(pos)) if str(pos).lstrip("-").isdigit() else None
        if li is None:
            raise field_error(where, _("no line at position %(position)s"), "no_line", position=pos)
        if li.quantity < 0:
            raise field_error(where, _("a discount line cannot be changed"), "discount_line")
        li.quantity = _quantity(value, where)
        changed.append(li)
    if changed:
        InvoiceDraftLine.objects.bulk_update(changed, ["quantity"])
        repriced = _reprice_percent_discounts(lines, {li.position for li in changed})
        if repriced:
            InvoiceDraftLine.objects.bulk_update(repriced, ["unit_price"])
    fields = ["updated_at"]
    if notes is not None:
        d.notes = notes.strip()
        fields.append("notes")
    d.updated_at = as_of
    d.save(update_fields=fields)
    return d


def _reprice_percent_discounts(
    lines: Mapping[int, InvoiceDraftLine], changed: set[int]
) -> list[InvoiceDraftLine]:
    """The percentage discount lines that follow each changed line, priced again for its new
    quantity as the run prices them (engine.discounts.line_allowances): each one a percentage
    of what the line is left with after the discounts before it, rounded once. A fixed amount
    keeps its amount."""
    ordered = [lines[p] for p in sorted(lines)]
    out: list[InvoiceDraftLine] = []
    for i, li in enumerate(ordered):
        if li.position not in changed:
            continue
        left = round_money(li.quantity * li.unit_price)
        for d in ordered[i + 1 :]:
            if not (d.quantity < 0 and d.product_id is None and d.product_code == ""):
                break  # the next line of its own (a discount line has no product)
            if d.percent is not None:
                d.unit_price = min(round_money(left * d.percent / 100), left)
                out.append(d)
            left = max(left - d.unit_price, Decimal(0))
    return out


# ---- reads (the review page, the API, the dashboard) ---------------------------------------


def review_queue(*, company_id: int) -> QuerySet[InvoiceDraft]:
    """A company's drafts waiting for review, oldest first (the order approval numbers them)."""
    return (
        InvoiceDraft.objects.filter(company_id=company_id, review_status=ReviewStatus.PENDING)
        .select_related("contract", "client")
        .order_by("created_at", "pk")
    )


def review_stale(*, company: Any, as_of: datetime) -> QuerySet[InvoiceDraft]:
    """Drafts waiting for review for more than the company's ``review_stale_days``."""
    since = as_of - timedelta(days=company.review_stale_days)
    return review_queue(company_id=company.pk).filter(created_at__lt=since)
