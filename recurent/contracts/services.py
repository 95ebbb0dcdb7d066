"""Writes for contracts: creation, edits (audited), and the subscription life cycle.

Every function takes ``as_of`` (the instant the action happens) and the acting ``user``;
only ``common.clock`` reads the system clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common import clock, events
from recurent.common.errors import engine_message, field_error
from recurent.companies.models import Company, InvoiceSeries, Membership
from recurent.engine import indexation, money
from recurent.engine.cycles import Cycle, Schedule, ScheduleError, wall_clock

from .models import Contract, ContractChange, ContractLine, ContractStatus, HoldKind
from .proration import prorate_change


@dataclass(frozen=True)
class LineSpec:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None
    description: str = ""
    # What the client may do from the portal (ContractLine says how the bounds read).
    self_service: bool = False
    min_quantity: Decimal | None = None
    max_quantity: Decimal | None = None
    quantity_step: Decimal | None = None


# The quantity column holds 10 digits before the point and 4 after (ContractLine.quantity).
QUANTITY_MAX = Decimal("9999999999.9999")
QUANTITY_PLACES = 4
# ContractLine.unit_price: 12 digits before the point, 4 after.
PRICE_MAX = Decimal("999999999999.9999")


def quantity_problem(q: Decimal) -> ValidationError | None:
    """Why ``q`` cannot be stored as a line quantity, or None (checked before the database
    sees it: 1e30 or 12345678901 would otherwise fail there)."""
    if q <= 0:
        return ValidationError(gettext_lazy("must be greater than zero"), code="not_positive")
    if q > QUANTITY_MAX:
        return ValidationError(
            gettext_lazy("too large (at most 9999999999.9999)"), code="too_large"
        )
    if q != q.quantize(Decimal(1).scaleb(-QUANTITY_PLACES)):
        return ValidationError(gettext_lazy("at most 4 decimals"), code="too_many_decimals")
    return None


BILLING_SHAPE = ("first_issue_at", "cycle", "every_days", "in_arrears", "series_id")
AUDITED = (
    "client_id", "number", "signed_on", "first_issue_at", "ends_at", "series_id", "issuer_id",
    "cycle", "every_days", "in_arrears", "payment_term_days", "currency", "invoice_currency",
    "auto_email", "email_template_code",
    "proforma_first", "proforma_valid_days", "review_before_issue",
    "index_method", "index_percent", "index_date_rule", "index_day", "index_month",
    "index_notice_days",
    "interest_rule", "interest_daily_percent",
)  # fmt: skip


def _audit(
    contract: Contract, user: User | None, action: str, changes: dict, actor: str = ""
) -> None:
    ContractChange.objects.create(
        contract=contract,
        user=user if user is not None and user.is_authenticated else None,
        actor=actor,
        at=clock.now(),
        action=action,
        changes=changes,
    )
    # Same transaction as the change: a listener (webhooks) sees the event iff the change commits.
    events.emit(
        contract.company_id,
        EVENT_OF_ACTION.get(action, "contract.changed"),
        {
            "id": contract.pk,
            "number": contract.number,
            "client_id": contract.client_id,
            "status": contract.status,
            "action": action,
            "final_index": contract.final_index,
            "changes": changes,
            "actor": actor or (user.get_username() if user is not None else ""),
        },
    )


contract_audit = _audit  # for other apps (invoices.cancellation): a row of the history
# The webhook event each audited action is announced as (anything else: contract.changed).
EVENT_OF_ACTION = {
    "created": "contract.created",
    "cancelled": "contract.cancelled",
    "cancel_at_period_end": "contract.cancelled",
}


def indexation_settings(contract: Contract) -> indexation.Settings:
    """The contract's yearly indexation settings as the pure rule reads them."""
    return indexation.Settings(
        method=indexation.Method(contract.index_method or "none"),
        signed_on=contract.signed_on,
        date_rule=indexation.DateRule(contract.index_date_rule or "anniversary"),
        percent=None if contract.index_percent is None else Decimal(contract.index_percent),
        # Imported values may still be text here: full_clean converts them later.
        day=None if contract.index_day is None else int(contract.index_day),
        month=None if contract.index_month is None else int(contract.index_month),
        notice_days=int(contract.index_notice_days),
        currency=contract.currency,
    )


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _check_portal_bounds(key: str, spec: LineSpec, errors: dict[str, list[Any]]) -> None:
    """The quantities a client may choose from the portal: each storable, the largest not
    below the smallest."""
    bounds = {}
    for name in ("min_quantity", "max_quantity", "quantity_step"):
        value = getattr(spec, name)
        if value is None:
            continue
        try:
            bounds[name] = money.to_decimal(value, f"{key}.{name}")
        except money.MoneyError as e:
            errors[e.field] = [engine_message(e)]
            continue
        problem = quantity_problem(bounds[name])
        if problem:
            errors[f"{key}.{name}"] = [problem]
    lo, hi = bounds.get("min_quantity"), bounds.get("max_quantity")
    if lo is not None and hi is not None and hi < lo:
        errors[f"{key}.max_quantity"] = [
            ValidationError(
                gettext_lazy("cannot be smaller than the smallest quantity"),
                code="max_below_min",
            )
        ]


def _check_lines(contract: Contract, lines: Sequence[LineSpec]) -> None:
    if not lines:
        raise field_error(
            "lines",
            gettext_lazy("a contract needs at least one product line"),
            "no_lines",
        )
    errors: dict[str, list[Any]] = {}
    for i, spec in enumerate(lines, start=1):
        key = f"lines[{i}]"
        if spec.product.company_id != contract.company_id:
            errors[f"{key}.product"] = [
                ValidationError(gettext_lazy("unknown product"), code="unknown_product")
            ]
            continue
        try:
            q = money.to_decimal(spec.quantity, f"{key}.quantity")
        except money.MoneyError as e:
            errors[e.field] = [engine_message(e)]
            continue
        problem = quantity_problem(q)
        if problem:
            errors[f"{key}.quantity"] = [problem]
        _check_portal_bounds(key, spec, errors)
        if spec.unit_price is not None:
            try:
                p = money.to_decimal(spec.unit_price, f"{key}.unit_price")
            except money.MoneyError as e:
                errors[e.field] = [engine_message(e)]
                continue
            if p < 0:
                errors[f"{key}.unit_price"] = [
                    ValidationError(gettext_lazy("cannot be negative"), code="negative")
                ]
            elif p > PRICE_MAX:
                errors[f"{key}.unit_price"] = [
                    ValidationError(
                        gettext_lazy("too large (at most 999999999999.9999)"),
                        code="too_large",
                    )
                ]
        elif spec.product.currency != contract.currency:
            errors[f"{key}.product"] = [
                ValidationError(
                    gettext_lazy(
                        "%(code)s is priced in %(currency)s but the contract in %(currency2)s: give a unit price in %(currency3)s"
                    ),
                    code="currency_mismatch",
                    params={
                        "code": spec.product.code,
                        "currency": spec.product.currency,
                        "currency2": contract.currency,
                        "currency3": contract.currency,
                    },
                )
            ]
        if len(spec.description) > 100:
            errors[f"{key}.description"] = [
                ValidationError(
                    gettext_lazy("at most 100 characters (e-Factura item name)"),
                    code="max_length",
                )
            ]
    if errors:
        raise ValidationError(errors)


def _validate(contract: Contract) -> Schedule:
    errors: dict[str, list[Any]] = {}
    if contract.client_id and contract.client.company_id != contract.company_id:
        errors["client"] = [ValidationError(gettext_lazy("unknown client"), code="unknown_client")]
    if contract.series_id and contract.series.company_id != contract.company_id:
        errors["series"] = [ValidationError(gettext_lazy("unknown series"), code="unknown_series")]
    if (
        contract.issuer_id
        and not Membership.objects.filter(
            user_id=contract.issuer_id, company_id=contract.company_id
        ).exists()
    ):
        errors["issuer"] = [
            ValidationError(
                gettext_lazy("the issuing user has no access to this company"),
                code="not_a_member",
            )
        ]
    if contract.first_issue_at is None or contract.first_issue_at.tzinfo is None:
        errors["first_issue_at"] = [
            ValidationError(
                gettext_lazy("give the date and time of the first invoice"),
                code="required",
            )
        ]
    if (
        contract.ends_at is not None
        and contract.first_issue_at
        and contract.ends_at <= contract.first_issue_at
    ):
        errors["ends_at"] = [
            ValidationError(
                gettext_lazy("the end must come after the first invoice"),
                code="end_before_first",
            )
        ]
    if contract.invoice_currency not in {contract.currency, "RON"}:
        errors["invoice_currency"] = [
            ValidationError(
                gettext_lazy("a contract in %(currency)s is invoiced in %(currency2)s or RON"),
                code="currency_mismatch",
                params={"currency": contract.currency, "currency2": contract.currency},
            )
        ]
    try:
        cycle = Cycle.parse(contract.cycle, contract.every_days)
    except ScheduleError as e:
        errors[e.field] = [engine_message(e)]
    try:
        indexation.check_settings(indexation_settings(contract))
    except indexation.IndexationError as e:
        errors[e.field] = [engine_message(e)]
    except (ValueError, ArithmeticError, TypeError):
        pass  # an unknown choice or a bad number: full_clean below names the field
    if errors:
        raise ValidationError(errors)
    try:
        contract.full_clean(exclude=["client", "series", "issuer", "company"])
    except ValidationError as e:
        raise e from None
    return Schedule(
        first_wall=wall_clock(contract.first_issue_at),
        cycle=cycle,
        end=contract.ends_at,
        in_arrears=contract.in_arrears,
        final_index=contract.final_index,
    )


def _write_lines(contract: Contract, lines: Sequence[LineSpec], from_index: int) -> None:
    ContractLine.objects.bulk_create(
        ContractLine(
            contract=contract,
            product=s.product,
            position=i,
            quantity=money.to_decimal(s.quantity, "quantity"),
            unit_price=None
            if s.unit_price is None
            else money.to_decimal(s.unit_price, "unit_price"),
            description=s.description,
            from_index=from_index,
            self_service=s.self_service,
            min_quantity=s.min_quantity,
            max_quantity=s.max_quantity,
            quantity_step=s.quantity_step,
        )
        for i, s in enumerate(lines, start=1)
    )


def _refresh_cursor(contract: Contract, schedule: Schedule) -> None:
    if contract.status == ContractStatus.ACTIVE:
        contract.next_issue_at = schedule.next_after(contract.next_index)
    else:
        contract.next_issue_at = None


@transaction.atomic
def contract_create(
    *,
    company: Company,
    client: Client,
    number: str,
    signed_on: Any,
    first_issue_at: datetime,
    series: InvoiceSeries | None = None,
    issuer: User,
    lines: Sequence[LineSpec],
    user: User | None = None,
    activate: bool = False,
    actor: str = "",
    **billing: Any,
) -> Contract:
    contract = Contract(
        company=company,
        client=client,
        number=number,
        signed_on=signed_on,
        first_issue_at=first_issue_at,
        series=series or InvoiceSeries.objects.filter(company=company, is_default=True).first(),
        issuer=issuer,
        **billing,
    )
    if contract.series_id is None:
        raise field_error(
            "series",
            gettext_lazy("the company has no invoice series; create one first"),
            "no_series",
        )
    schedule = _validate(contract)
    _check_lines(contract, lines)
    contract.status = ContractStatus.ACTIVE if activate else ContractStatus.DRAFT
    _refresh_cursor(contract, schedule)
    contract.save()
    _write_lines(contract, lines, 0)
    _audit(contract, user, "created", {"status": contract.status}, actor)
    return contract


def _lock(contract: Contract) -> Contract:
    # Re-read under a row lock so that a concurrent billing run and this edit serialise.
    return (
        Contract.objects.select_for_update().select_related("client", "series").get(pk=contract.pk)
    )


@transaction.atomic
def contract_update(
    *, contract: Contract, user: User | None, actor: str = "", **fields: Any
) -> Contract:
    contract = _lock(contract)
    before = {k: getattr(contract, k) for k in AUDITED}
    for k, v in fields.items():
        if (
            k not in AUDITED
            and k.removesuffix("_id") + "_id" not in AUDITED
            and k not in {"client", "series", "issuer"}
        ):
            raise field_error(
                k, gettext_lazy("this field cannot be changed here"), "not_changeable"
            )
        setattr(contract, k, v)
    after = {k: getattr(contract, k) for k in AUDITED}
    changed = {
        k: [_jsonable(before[k]), _jsonable(after[k])] for k in AUDITED if before[k] != after[k]
    }
    if contract.next_index > 0 and any(k in changed for k in BILLING_SHAPE):
        names = ", ".join(k.removesuffix("_id") for k in BILLING_SHAPE if k in changed)
        raise field_error(
            "__all__",
            gettext_lazy(
                "%(names)s: cannot change once invoices were issued; end this contract and start a new one"
            ),
            "billing_shape_frozen",
            names=names,
        )
    schedule = _validate(contract)
    _refresh_cursor(contract, schedule)
    contract.save()
    if changed:
        _audit(contract, user, "updated", changed, actor)
    return contract


@transaction.atomic
def contract_activate(*, contract: Contract, user: User | None, as_of: datetime) -> Contract:
    contract = _lock(contract)
    if contract.status not in {ContractStatus.DRAFT}:
        raise field_error(
            "status",
            gettext_lazy("only a draft can be activated (this one is %(status)s)"),
            "not_draft",
            status=contract.status,
        )
    schedule = _validate(contract)
    contract.status = ContractStatus.ACTIVE
    _refresh_cursor(contract, schedule)
    contract.save()
    _audit(contract, user, "activated", {"next_issue_at": _jsonable(contract.next_issue_at)})
    return contract


@transaction.atomic
def contract_pause(
    *, contract: Contract, user: User | None, as_of: datetime, actor: str = ""
) -> Contract:
    contract = _lock(contract)
    if contract.status != ContractStatus.ACTIVE:
        raise field_error(
            "status",
            gettext_lazy("only an active contract can be paused (this one is %(status)s)"),
            "not_active",
            status=contract.status,
        )
    contract.status = ContractStatus.PAUSED
    contract.paused_at = as_of
    contract.next_issue_at = None
    contract.save()
    _audit(contract, user, "paused", {"at": as_of.isoformat()}, actor)
    return contract


@transaction.atomic
def contract_resume(
    *, contract: Contract, user: User | None, as_of: datetime, actor: str = ""
) -> Contract:
    """Resume billing; the periods that fell inside the pause are not invoiced."""
    contract = _lock(contract)
    if contract.status != ContractStatus.PAUSED:
        raise field_error(
            "status",
            gettext_lazy("only a paused contract can be resumed (this one is %(status)s)"),
            "not_paused",
            status=contract.status,
        )
    schedule = contract.schedule()
    skipped_from = contract.next_index
    contract.next_index = max(contract.next_index, schedule.first_index_at_or_after(as_of))
    contract.status = ContractStatus.ACTIVE
    contract.paused_at = None
    _refresh_cursor(contract, schedule)
    if contract.next_issue_at is None:
        contract.status = ContractStatus.ENDED
    contract.save()
    _audit(
        contract, user, "resumed", {"skipped_periods": [skipped_from, contract.next_index]}, actor
    )
    return contract


@transaction.atomic
def contract_cancel(
    *,
    contract: Contract,
    user: User | None,
    as_of: datetime,
    at_period_end: bool = False,
    actor: str = "",
) -> Contract:
    """Cancel now (nothing more is invoiced) or at the end of the current period.

    At period end, in advance: the period already invoiced is the last one. In arrears: the
    current period is still invoiced at its end, and nothing after it.
    """
    contract = _lock(contract)
    if contract.status in {ContractStatus.CANCELLED, ContractStatus.ENDED}:
        raise field_error(
            "status",
            gettext_lazy("the contract is already %(status)s"),
            "contract_already",
            status=contract.status,
        )
    schedule = contract.schedule()
    if at_period_end and contract.status in {ContractStatus.ACTIVE, ContractStatus.PAUSED}:
        upcoming = schedule.index_after(as_of)
        final = upcoming if contract.in_arrears else upcoming - 1
        contract.final_index = max(final, contract.next_index - 1) if final >= 0 else None
        if contract.final_index is None or contract.next_index > contract.final_index:
            contract.status = ContractStatus.CANCELLED
            contract.next_issue_at = None
        else:
            _refresh_cursor(contract, contract.schedule())
        _audit(
            contract, user, "cancel_at_period_end", {"final_period": contract.final_index}, actor
        )
    else:
        contract.status = ContractStatus.CANCELLED
        contract.next_issue_at = None
        _audit(contract, user, "cancelled", {"at": as_of.isoformat()}, actor)
    contract.save()
    return contract


@transaction.atomic
def contract_change_lines(
    *,
    contract: Contract,
    user: User | None,
    lines: Sequence[LineSpec],
    actor: str = "",
    from_index: int | None = None,
    action: str = "lines_changed",
    audit_extra: dict[str, Any] | None = None,
    as_of: datetime | None = None,
) -> Contract:
    """New lines from the next period not invoiced (or a later ``from_index``: an indexation),
    prorated from ``as_of``'s day by the company's policy (contracts.proration)."""
    contract = _lock(contract)
    _check_lines(contract, lines)
    k = max(contract.next_index, from_index or 0)
    old = list(contract.lines.filter(until_index__isnull=True).select_related("product"))
    prorated = prorate_change(contract=contract, lines=lines, as_of=as_of, scheduled=from_index)
    contract.lines.filter(from_index__gte=k).delete()  # replace a change not yet in force
    contract.lines.filter(from_index__lt=k, until_index__isnull=True).update(until_index=k)
    _write_lines(contract, lines, k)
    contract.save(update_fields=["updated_at"])
    _audit(
        contract,
        user,
        action,
        {
            "from_period": k,
            "before": [[li.product.code, str(li.quantity)] for li in old],
            "after": [[s.product.code, str(s.quantity)] for s in lines],
            **((audit_extra or {}) | prorated),
        },
        actor,
    )
    return contract


def _current_specs(contract: Contract) -> list[tuple[Any, ...]]:
    return [
        (li.product_id, li.quantity, li.unit_price, li.description, li.self_service,
         li.min_quantity, li.max_quantity, li.quantity_step)
        for li in contract.lines.filter(until_index__isnull=True).order_by("position", "pk")
    ]  # fmt: skip


@transaction.atomic
def contract_edit(
    *,
    contract: Contract,
    user: User | None,
    lines: Sequence[LineSpec] | None = None,
    actor: str = "",
    **fields: Any,
) -> Contract:
    """A whole edit (billing fields and, when they differ from the lines in force, new lines) in
    one transaction: refused lines leave the fields as they were, and the other way round."""
    contract = contract_update(contract=contract, user=user, actor=actor, **fields)
    if lines is not None:
        wanted = [
            (s.product.pk, s.quantity, s.unit_price, s.description, s.self_service,
             s.min_quantity, s.max_quantity, s.quantity_step)
            for s in lines
        ]  # fmt: skip
        if wanted != _current_specs(contract):
            contract = contract_change_lines(contract=contract, user=user, lines=lines, actor=actor)
    return contract


def contract_release_hold(*, contract: Contract, user: User | None) -> None:
    """Retry a contract set aside (after its data was fixed elsewhere)."""
    Contract.objects.filter(pk=contract.pk).update(
        hold_kind=HoldKind.NONE, hold_reason="", hold_since=None
    )
    _audit(contract, user, "hold_released", {"reason": contract.hold_reason})
