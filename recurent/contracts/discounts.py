"""Discounts and trials on a contract's invoices (writes, the list, and the engine's view).

How a discount is priced is the billing core's rule (engine.discounts); this module stores
them (ContractDiscount) and gives the billing engine (invoices.services._Block.draft) the
discounts of one period as engine values. Adding and removing lock the contract row first,
as the engine's claim does, so a change waits for a block that holds the contract instead of
changing what that block priced. An invoice already issued keeps its allowances: removing a
discount changes only the invoices issued after.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from recurent.common import clock
from recurent.common.errors import as_validation_error, field_error
from recurent.engine import discounts as engine
from recurent.engine import money
from recurent.engine.cycles import BUCHAREST, Schedule

from .models import Contract, ContractDiscount, ContractLine, ContractStatus, DiscountKind
from .services import _audit, _lock

log = logging.getLogger("recurent.contracts")

# Filled by recurent/wiring.py (contracts does not import mail): mail.services.notice_queue and
# client_language, as for the indexation notices.
NOTICE_QUEUE: list[Callable[..., Any]] = []
CLIENT_LANGUAGE: list[Callable[[Any], str]] = []

# ContractDiscount.value: 12 digits before the point, 4 after.
VALUE_MAX = Decimal("999999999999.9999")
INT_MAX = 2_147_483_647  # from_index, periods (PostgreSQL integer)
REASON_MAX = 100  # e-Factura's allowance reason (BT-139) as ubl prints it


def _int_or_none(field: str, v: Any, errors: dict[str, list[ValidationError]]) -> int | None:
    if v is None or v == "":
        return None
    try:
        n = int(str(v).strip())
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(
            ValidationError(_("not a whole number: %(value)s"), code="invalid",
                            params={"value": str(v)[:40]})
        )  # fmt: skip
        return None
    if n < 0:
        errors.setdefault(field, []).append(
            ValidationError(_("cannot be negative"), code="negative")
        )
        return None
    if n > INT_MAX:  # the column's limit: refused here, not as a database error
        errors.setdefault(field, []).append(ValidationError(_("too large"), code="too_large"))
        return None
    return n


def _date_or_none(v: Any, errors: dict[str, list[ValidationError]]) -> date | None:
    if v is None or v == "" or isinstance(v, date):
        return v or None
    try:
        return date.fromisoformat(str(v).strip())
    except ValueError:
        errors.setdefault("until", []).append(
            ValidationError(_("not a date (YYYY-MM-DD): %(value)s"), code="invalid",
                            params={"value": str(v)[:40]})
        )  # fmt: skip
        return None


def _clean(
    contract: Contract, *, kind: Any, value: Any, reason: Any, line_position: Any,
    from_index: Any, periods: Any, until: Any, trial: bool, positions: set[int] | None = None,
) -> engine.Discount:  # fmt: skip
    """The discount as the billing core takes it, or a ValidationError naming each field.
    ``positions``: the contract's line positions when known (an import); None reads them."""
    errors: dict[str, list[ValidationError]] = {}
    if kind not in DiscountKind.values:
        errors["kind"] = [
            ValidationError(_("choose a percentage or a fixed amount"), code="invalid_choice")
        ]
    v = Decimal(0)
    try:
        v = money.to_decimal(value, "value")
        if abs(v) > VALUE_MAX:
            errors["value"] = [ValidationError(_("at most 12 digits"), code="too_large")]
    except money.MoneyError:
        errors["value"] = [
            ValidationError(_("not a number: %(value)s"), code="invalid",
                            params={"value": str(value)[:40]})
        ]  # fmt: skip
    reason = str(reason or "").strip()
    if len(reason) > REASON_MAX:
        errors["reason"] = [
            ValidationError(_("at most 100 characters (e-Factura allowance reason)"),
                            code="max_length")
        ]  # fmt: skip
    line = _int_or_none("line_position", line_position, errors)
    start = _int_or_none("from_index", from_index, errors)
    count = _int_or_none("periods", periods, errors)
    end = _date_or_none(until, errors)
    if positions is None and line is not None:
        positions = set(
            ContractLine.objects.filter(contract=contract).values_list("position", flat=True)
        )
    if line is not None and line not in (positions or ()):
        errors.setdefault("line_position", []).append(
            ValidationError(_("the contract has no line %(n)s"), code="unknown_line",
                            params={"n": line})
        )  # fmt: skip
    if errors:
        raise ValidationError(errors)
    d = engine.Discount(
        kind=engine.DiscountKind(kind),
        value=v,
        reason=reason,
        line=line,
        from_index=contract.next_index if start is None else start,
        periods=count,
        until=end,
        trial=bool(trial),
    )
    try:
        engine.check_discount(d)
    except engine.DiscountError as e:
        raise as_validation_error(e) from None
    return d


@transaction.atomic
def discount_add(
    *,
    contract: Contract,
    user: User | None,
    as_of: datetime,
    kind: str,
    value: Any,
    reason: str,
    line_position: Any = None,
    from_index: Any = None,
    periods: Any = None,
    until: Any = None,
    trial: bool = False,
    actor: str = "",
) -> ContractDiscount:
    """Add a discount or a trial. ``from_index`` None: from the contract's next invoice;
    ``line_position`` None: on the whole contract; ``periods``/``until`` None: no such limit
    (a trial needs one of them)."""
    contract = _lock(contract)
    if contract.status in {ContractStatus.CANCELLED, ContractStatus.ENDED}:
        raise field_error(
            "contract", _("the contract is %(status)s: it has no next invoice"), "closed",
            status=contract.get_status_display(),
        )  # fmt: skip
    d = _clean(
        contract, kind=kind, value=value, reason=reason, line_position=line_position,
        from_index=from_index, periods=periods, until=until, trial=trial,
    )  # fmt: skip
    discount = ContractDiscount.objects.create(
        contract=contract,
        kind=d.kind.value,
        value=d.value,
        line_position=d.line,
        from_index=d.from_index,
        periods=d.periods,
        until=d.until,
        trial=d.trial,
        reason=d.reason,
        created_by=user if user is not None and user.is_authenticated else None,
        created_at=as_of,
    )
    # updated_at moves: a contract set aside for its data is retried with the discount.
    contract.save(update_fields=["updated_at"])
    _audit(contract, user, "discount_added", discount_json(discount), actor)
    return discount


@transaction.atomic
def discount_remove(
    *, discount: ContractDiscount, user: User | None, as_of: datetime, actor: str = ""
) -> None:
    """Withdraw a discount from the invoices not yet issued (issued ones keep theirs)."""
    contract = _lock(discount.contract)
    deleted, _n = ContractDiscount.objects.filter(pk=discount.pk).delete()
    if not deleted:
        raise field_error("discount", _("this discount was already removed"), "not_found")
    contract.save(update_fields=["updated_at"])
    _audit(contract, user, "discount_removed", discount_json(discount), actor)


def discount_json(d: ContractDiscount) -> dict[str, Any]:
    """The discount as the audit trail and the API show it."""
    return {
        "id": d.pk, "kind": d.kind, "value": str(d.value), "reason": d.reason,
        "line_position": d.line_position, "from_index": d.from_index, "periods": d.periods,
        "until": d.until.isoformat() if d.until else None, "trial": d.trial,
    }  # fmt: skip


def discounts_of(*, contract: Contract) -> list[ContractDiscount]:
    return list(ContractDiscount.objects.filter(contract=contract))


# The columns the billing engine reads (invoices.services._due_rows), in engine_discount's order.
ENGINE_COLS = ("kind", "value", "reason", "line_position", "from_index", "periods", "until",
               "trial")  # fmt: skip


def engine_discount(row: Sequence[Any]) -> engine.Discount:
    """A stored discount (the values of ENGINE_COLS) as the billing core takes it."""
    kind, value, reason, line, start, count, until, trial = row
    return engine.Discount(
        kind=engine.DiscountKind(kind), value=value, reason=reason, line=line,
        from_index=start, periods=count, until=until, trial=trial,
    )  # fmt: skip


def period_discounts(
    discounts: Iterable[engine.Discount],
    *,
    index: int,
    period_start: date,
    positions: Sequence[int],
) -> tuple[engine.Discount, ...]:
    """The discounts of period ``index`` with their line re-pointed at the invoice line.

    ``positions``: the ContractLine.position of each line on this period's invoice, in order
    (lines start and end by period, so contract line 3 may be the invoice's line 2). A
    discount on a line that is not on this invoice does not apply to it."""
    out = []
    for d in discounts:
        if not d.applies(index, period_start):
            continue
        if d.line is not None:
            if d.line not in positions:
                continue
            d = replace(d, line=positions.index(d.line) + 1)
        out.append(d)
    return tuple(out)


def allowance_json(a: engine.Allowance, sign: int = 1) -> dict[str, Any]:
    """One line allowance as InvoiceLine.allowances stores it (``sign`` -1 on a credit note)."""
    return {
        "amount": str(sign * a.amount), "reason": a.reason,
        "percent": None if a.percent is None else format(a.percent.normalize(), "f"),
        "trial": a.trial,
    }  # fmt: skip


IMPORT_FIELDS = {"kind", "value", "reason", "line_position", "from_index", "periods", "until",
                 "trial"}  # fmt: skip


def discounts_for_import(
    contract: Contract, records: Any, *, lines: int, as_of: datetime
) -> list[ContractDiscount]:
    """The ``discounts`` of an import file's contract record, checked by discount_add's rules
    against the contract being built (``lines`` lines, positions 1..lines) and not yet saved:
    the importer inserts them with the contract (contracts.import_contracts). Errors are named
    ``discounts[j].<field>``."""
    if records is None:
        return []
    if not isinstance(records, list):
        raise field_error("discounts", _("a list of discounts"), "invalid")
    out, errors = [], {}
    for j, r in enumerate(records):
        if not isinstance(r, dict) or set(r) - IMPORT_FIELDS:
            extra = sorted(set(r) - IMPORT_FIELDS) if isinstance(r, dict) else []
            errors[f"discounts[{j}]"] = [
                ValidationError(_("unknown fields: %(names)s"), code="unknown_field",
                                params={"names": ", ".join(extra) or "?"})
            ]  # fmt: skip
            continue
        try:
            d = _clean(
                contract, kind=r.get("kind", "percent"), value=r.get("value"),
                reason=r.get("reason"), line_position=r.get("line_position"),
                from_index=r.get("from_index"), periods=r.get("periods"), until=r.get("until"),
                trial=r.get("trial") is True, positions=set(range(1, lines + 1)),
            )  # fmt: skip
        except ValidationError as e:
            for f, errs in e.error_dict.items():
                errors[f"discounts[{j}].{f}"] = errs
            continue
        out.append(
            ContractDiscount(
                contract=contract,
                kind=d.kind.value,
                value=d.value,
                line_position=d.line,
                from_index=d.from_index,
                periods=d.periods,
                until=d.until,
                trial=d.trial,
                reason=d.reason,
                created_at=as_of,
            )  # fmt: skip
        )
    if errors:
        raise ValidationError(errors)
    return out


def discount_ends_on(
    contract: Contract, d: ContractDiscount, schedule: Schedule | None = None
) -> date | None:
    """The last service day the discount covers: the end of its last period (the one before
    ``from_index + periods``, the last one starting before ``until``). None: it does not end,
    or it covers no period of the contract."""
    sched = schedule or contract.schedule()
    last = None if d.periods is None else d.from_index + d.periods - 1
    try:
        if d.until is not None:
            k = None
            # Bounded: a discount on daily periods for 30 years is 11,000; past that, no end.
            for p in islice(sched.periods(d.from_index), 12000):
                if p.start >= d.until or (last is not None and p.index > last):
                    break
                k = p.index
            if k is None:
                return None
            last = k if last is None else min(last, k)
        return None if last is None else sched.period(last).end
    except (ValueError, OverflowError):
        return None  # past year 9999


def _trial_notice(contract: Contract, ends_on: date) -> tuple[str, str]:
    params = {"contract": contract.number, "company": contract.company.legal_name,
              "date": ends_on.strftime("%d.%m.%Y"),
              "next": (ends_on + timedelta(days=1)).strftime("%d.%m.%Y")}  # fmt: skip
    subject = gettext("Your trial of contract %(contract)s ends on %(date)s") % params
    body = (
        gettext(
            "Hello,\n\nThe trial period of contract %(contract)s with %(company)s ends on "
            "%(date)s. From %(next)s the service is invoiced at the contract's full price.\n"
        )
        % params
    )
    return subject, body


def trial_notices_tick(*, limit: int = 100, as_of: datetime | None = None) -> int:
    """Worker task: tell each client whose trial ends within RECURENT_TRIAL_NOTICE_DAYS (7)
    days, once (``trial_noticed_at`` under the row lock), by a message in the mail outbox;
    a trial already over when first seen is marked without a message. Returns how many
    were queued."""
    as_of = as_of or clock.now()
    today = as_of.astimezone(BUCHAREST).date()
    days = int(getattr(settings, "RECURENT_TRIAL_NOTICE_DAYS", 7))
    queued = 0
    pending = ContractDiscount.objects.filter(
        trial=True, trial_noticed_at__isnull=True, contract__status=ContractStatus.ACTIVE
    ).select_related("contract")
    for d in pending.iterator():
        ends_on = discount_ends_on(d.contract, d)
        if ends_on is None or today < ends_on - timedelta(days=days):
            continue
        with transaction.atomic():
            # Locked and re-checked: two workers never both queue the notice.
            row = (
                ContractDiscount.objects.select_for_update()
                .filter(pk=d.pk, trial_noticed_at__isnull=True)
                .first()
            )
            if row is None:
                continue
            contract = Contract.objects.select_related("company", "client").get(pk=d.contract_id)
            to = [e for e in (contract.client.emails or []) if e]
            if ends_on >= today and to and NOTICE_QUEUE:
                lang = CLIENT_LANGUAGE[0](contract.client) if CLIENT_LANGUAGE else "ro"
                with translation.override(lang):
                    subject, body = _trial_notice(contract, ends_on)
                NOTICE_QUEUE[0](company=contract.company, to=to, subject=subject,
                                body_text=body, as_of=as_of)  # fmt: skip
                queued += 1
                contract.changes.create(
                    actor="worker", at=as_of, action="trial_noticed",
                    changes={"reason": row.reason, "ends_on": ends_on.isoformat(), "to": to},
                )  # fmt: skip
            else:
                log.info("trial %s of contract %s: no notice (over or no email)", d.pk, contract.pk)
            ContractDiscount.objects.filter(pk=row.pk).update(trial_noticed_at=as_of)
        if queued >= limit:
            break
    return queued
