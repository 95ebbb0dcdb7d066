"""The contracts of an import file (recurent.contracts.importing): each checked in memory by
contract_create's own rules, then written in bulk, a chunk at a time.

Why not contract_create per record: its two queries and four inserts a contract, each in a
savepoint, made 100,000 records a matter of many minutes (docs/benchmarks/import.md). Here the
queries are per file: the company's members and default series are read once, the rows of a
chunk go in as one INSERT per table (recurent.common.bulk), and the audit rows and
``contract.created`` events of a chunk as one insert and one ``events.emit_many``.
What a contract is made of stays in contracts.services (_validate, _check_lines,
_refresh_cursor): tests/core/test_import_bulk.py compares an imported contract with one made by
contract_create, so a field added there and not here fails that test.

A new optional contract field of the format: add its name to CONTRACT_BILLING (it is passed to
Contract(...) as contract_create's ``**billing`` is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils.translation import gettext_lazy

from recurent.catalog.models import Product
from recurent.clients.models import Client
from recurent.common import bulk, events
from recurent.common.errors import field_error, messages_of
from recurent.companies.models import Company, InvoiceSeries, Membership, Role
from recurent.companies.services import membership_grant
from recurent.engine import money
from recurent.engine.cycles import Cycle, ScheduleError

from .charges import _charge_json
from .discounts import discount_json, discounts_for_import
from .import_extras import charges, line_usage
from .import_values import date_of, decimal_of, instant_of, tax_key, unknown
from .models import (
    Contract,
    ContractChange,
    ContractCharge,
    ContractDiscount,
    ContractLine,
    ContractStatus,
)
from .services import EVENT_OF_ACTION, LineSpec, _check_lines, _refresh_cursor, _validate

CONTRACT_BILLING = {"cycle", "every_days", "in_arrears", "payment_term_days", "currency", "invoice_currency",
                    "auto_email", "email_template_code",
                    # Yearly indexation (docs/indexation.md).
                    "index_method", "index_percent", "index_date_rule", "index_day", "index_month",
                    "index_notice_days",
                    # Billed by proforma first (invoices/proforma_period.py).
                    "proforma_first", "proforma_valid_days",
                    # Review before numbering (invoices/review.py).
                    "review_before_issue",
                    # Late-payment interest (payments/interest.py) and missing usage (usage.py).
                    "interest_rule", "interest_daily_percent", "missing_usage"}  # fmt: skip
CONTRACT_FIELDS = CONTRACT_BILLING | {"number", "client", "signed_on", "first_issue_at", "ends_at", "series",
                                      "issuer", "lines", "status", "discounts", "charges"}  # fmt: skip
# Records built before their rows are written: the memory a chunk holds, and a few statements.
CHUNK = 2000


@dataclass
class Refs:
    """What the contracts of a file point at, all read or made before them."""

    company: Company
    # Client ids by ref, CUI/CNP as written, and CUI/CNP digits (0: checked, not written as the
    # import failed). Ids, not Client objects: a million clients fit in ~100 MB less.
    clients: dict[str, int]
    series: dict[str, InvoiceSeries]  # by code
    products: dict[str, Product]  # by code
    users: dict[str, Any]  # username -> user, for every issuer the file names
    default_issuer: Any
    grant_issuers: bool  # no --user: each issuer becomes an admin of the company (as before)
    now: datetime
    members: set[int] = field(default_factory=set)
    default_series: InvoiceSeries | None = None
    client_of_company: Client | None = None  # stands for any client of the company
    numbers_taken: set[str] = field(default_factory=set)


def _where(where: str, fld: str) -> str:
    return where if fld == "__all__" else (fld if fld.startswith(where) else f"{where}.{fld}")


def _parse_lines(where: str, k: dict, refs: Refs, found: list[tuple[str, str]]) -> list[LineSpec]:
    lines = []
    for j, li in enumerate(k.get("lines") or []):
        lw = f"{where}.lines[{j}]"
        if not isinstance(li, dict):
            found.append((lw, "an object"))
            continue
        prod = refs.products.get(str(li.get("product", "")))
        if prod is None:
            found.append((f"{lw}.product", f"unknown product {li.get('product')!r}"))
        try:
            q = decimal_of(li.get("quantity", "1"), f"{lw}.quantity")
            up = (
                None
                if li.get("unit_price") is None
                else decimal_of(li["unit_price"], f"{lw}.unit_price")
            )
        except ValidationError as e:
            found.extend(messages_of(e))
            continue
        if q <= 0:
            found.append((f"{lw}.quantity", "must be greater than zero"))
        if up is not None and up < 0:
            found.append((f"{lw}.unit_price", "cannot be negative"))
        if prod is not None:
            lines.append(
                LineSpec(
                    product=prod,
                    quantity=q,
                    unit_price=up,
                    description=str(li.get("description", "")),
                )
            )
    return lines


def _parse(where: str, k: dict, refs: Refs, found: list[tuple[str, str]]) -> dict[str, Any]:
    """The record's values as contract_create takes them; what is wrong goes to ``found``."""
    cref = str(k.get("client", ""))
    client = refs.clients.get(cref)
    if client is None:
        client = refs.clients.get(tax_key(cref))
    if client is None:
        found.append(
            (f"{where}.client", f"unknown or invalid client {cref!r} (use its ref or CUI/CNP)")
        )
    code = str(k.get("series") or "")
    series = refs.series.get(code.upper()) if code else None
    if code and series is None:
        found.append((f"{where}.series", f"unknown series {code!r}"))
    issuer = refs.default_issuer
    if k.get("issuer"):
        issuer = refs.users.get(str(k["issuer"]))
        if issuer is None:
            found.append((f"{where}.issuer", f"unknown user {k['issuer']!r}"))
    elif issuer is None:
        found.append((f"{where}.issuer", "no issuing user: name one or create a superuser"))
    lines = _parse_lines(where, k, refs, found)
    status = k.get("status", "active")
    if status not in ("active", "draft"):
        found.append((f"{where}.status", "active or draft"))
    values: dict[str, Any] = {}
    try:
        values["first_issue_at"] = instant_of(k.get("first_issue_at"), f"{where}.first_issue_at")
        values["ends_at"] = (
            instant_of(k["ends_at"], f"{where}.ends_at") if k.get("ends_at") else None
        )
        values["signed_on"] = date_of(k.get("signed_on"), f"{where}.signed_on")
    except ValidationError as e:
        found.extend(messages_of(e))
    try:
        Cycle.parse(str(k.get("cycle", "monthly")), k.get("every_days"))
    except ScheduleError as e:
        found.append((f"{where}.{e.field}", e.message))
    return values | {
        "client_id": client, "number": str(k.get("number", "")), "series": series, "issuer": issuer,
        "lines": lines, "activate": status == "active",
        **{b: k[b] for b in CONTRACT_BILLING if b in k},
    }  # fmt: skip


def _no_query_constraints(exclude: Any = None) -> None:
    """Contract's one check constraint (ends after the first invoice) is _validate's
    end_before_first in Python; Django would ask the database, once a contract."""


def contract_build(
    refs: Refs, *, lines: Sequence[LineSpec], activate: bool, series: InvoiceSeries | None,
    issuer: Any, **values: Any,
) -> Contract:  # fmt: skip
    """contract_create up to its writes, without a query: the membership of the issuer is read
    from ``refs.members`` (read once) instead of once a contract."""
    contract = Contract(
        company=refs.company, series=series or refs.default_series, issuer=issuer, **values
    )
    if contract.series_id is None:
        raise field_error(
            "series",
            gettext_lazy("the company has no invoice series; create one first"),
            "no_series",
        )
    member = issuer.pk in refs.members
    contract.issuer_id = None  # type: ignore[assignment]  # else _validate asks the database
    contract.validate_constraints = _no_query_constraints  # type: ignore[method-assign]
    # _validate reads the client's company: the import's own (the client was found by its key
    # among the company's), given without fetching the client.
    Contract.client.field.set_cached_value(contract, refs.client_of_company)
    try:
        schedule = _validate(contract)
    except ValidationError as e:
        if not member:
            e.error_dict.setdefault("issuer", []).insert(0, _not_a_member())
        raise
    finally:
        contract.issuer = issuer
        del contract.validate_constraints
        Contract.client.field.delete_cached_value(contract)
    if not member:
        raise ValidationError({"issuer": [_not_a_member()]})
    _check_lines(contract, lines)
    contract.status = ContractStatus.ACTIVE if activate else ContractStatus.DRAFT
    _refresh_cursor(contract, schedule)
    return contract


def _not_a_member() -> ValidationError:
    return ValidationError(
        gettext_lazy("the issuing user has no access to this company"), code="not_a_member"
    )


def _line_rows(contract: Contract, lines: Sequence[LineSpec]) -> list[dict[str, Any]]:
    """contracts.services._write_lines' rows (from the first period), as column values: a
    model instance each would cost more than the insert. A variable line adds its usage
    columns (import_extras.line_usage)."""
    usage = getattr(contract, "_import_line_usage", {})
    return [
        {"contract_id": contract.pk, "product_id": s.product.pk, "position": i,
         "quantity": money.to_decimal(s.quantity, "quantity"),
         "unit_price": None if s.unit_price is None else money.to_decimal(s.unit_price, "unit_price"),
         "description": s.description, "from_index": 0, "self_service": s.self_service,
         "min_quantity": s.min_quantity, "max_quantity": s.max_quantity,
         "quantity_step": s.quantity_step, **usage.get(i, {})}
        for i, s in enumerate(lines, start=1)
    ]  # fmt: skip


def write_contracts(refs: Refs, built: list[tuple[Contract, Sequence[LineSpec]]]) -> None:
    """The rows contract_create writes, for a chunk at once: contracts, lines, audit, events."""
    contracts = [c for c, _ in built]
    bulk.insert_objects(Contract, contracts, returning_ids=True)
    bulk.insert_dicts(ContractLine, [li for c, lines in built for li in _line_rows(c, lines)])
    rows, announced = [], []
    for c in contracts:
        changes = {"status": c.status}
        rows.append({"contract_id": c.pk, "user_id": None, "actor": "import", "at": refs.now,
                     "action": "created", "changes": changes})  # fmt: skip
        # As contracts.services._audit announces a created contract, in this transaction.
        announced.append((c.company_id, EVENT_OF_ACTION["created"], {
            "id": c.pk, "number": c.number, "client_id": c.client_id, "status": c.status,
            "action": "created", "final_index": c.final_index, "changes": changes,
            "actor": "import",
        }))  # fmt: skip
    # A contract's discounts from the file (contracts.discounts.discounts_for_import checked
    # them); bulk_create takes each one's contract_id from its contract, inserted above.
    discounts = [d for c in contracts for d in getattr(c, "_import_discounts", ())]
    ContractDiscount.objects.bulk_create(discounts)
    rows += [{"contract_id": d.contract.pk, "user_id": None, "actor": "import", "at": refs.now,
              "action": "discount_added", "changes": discount_json(d)} for d in discounts]  # fmt: skip
    # One-off charges and credits for each contract's first invoice (import_extras.charges).
    extra = []
    for c in contracts:
        for ch in getattr(c, "_import_charges", ()):
            ch.contract = c
            extra.append(ch)
    ContractCharge.objects.bulk_create(extra)
    rows += [{"contract_id": ch.contract.pk, "user_id": None, "actor": "import", "at": refs.now,
              "action": "charge_added", "changes": _charge_json(ch)} for ch in extra]  # fmt: skip
    bulk.insert_dicts(ContractChange, rows)
    events.emit_many(announced)


def _flush(refs: Refs, built: list, errors: list[tuple[str, str]], first: int, i: int) -> None:
    """Write a chunk unless the import already failed (it will be rolled back anyway)."""
    if built and not errors:
        try:
            with transaction.atomic():  # one savepoint a chunk: the checks go on after it
                write_contracts(refs, built)
        except (IntegrityError, DataError):
            errors.append(
                (f"contracts[{first}:{i + 1}]", "conflicts with an existing record (a duplicate?)")
            )
    built.clear()


def import_contracts(records: list[Any], refs: Refs | None, errors: list[tuple[str, str]]) -> int:
    """Check every contract record, write the good ones chunk by chunk; returns how many.
    Without ``refs`` (no company) only the shape of each record is checked."""
    number_seen: dict[str, str] = {}  # contract number -> where in the file
    built: list[tuple[Contract, Sequence[LineSpec]]] = []
    made, first = 0, 0
    for i, k in enumerate(records):
        where = f"contracts[{i}]"
        if not isinstance(k, dict):
            errors.append((where, "an object"))
            continue
        errors += unknown(where, k, CONTRACT_FIELDS)
        if refs is None:
            continue
        number = str(k.get("number", ""))
        if number in number_seen:
            errors.append((f"{where}.number", f"{number!r} is already in {number_seen[number]}"))
            continue
        number_seen[number] = where
        if number in refs.numbers_taken:
            errors.append((f"{where}.number", f"the company has a contract {number!r} already"))
            continue
        found: list[tuple[str, str]] = []
        values = _parse(where, k, refs, found)
        usage = {j: u for j, li in enumerate(k.get("lines") or [], start=1)
                 if isinstance(li, dict) and (u := line_usage(f"{where}.lines[{j - 1}]", li, found))}  # fmt: skip
        extra = charges(where, k.get("charges"), refs.now, found)
        if found:
            errors.extend(found)
            continue
        issuer = values["issuer"]
        if refs.grant_issuers and issuer.pk not in refs.members:
            membership_grant(user=issuer, company=refs.company, role=Role.ADMIN)
            refs.members.add(issuer.pk)
        try:
            contract = contract_build(refs, **values)
            # Inserted with the contract by write_contracts (docs/import-format.md, discounts).
            contract._import_discounts = discounts_for_import(  # type: ignore[attr-defined]
                contract, k.get("discounts"), lines=len(values["lines"]), as_of=refs.now
            )
            contract._import_line_usage = usage  # type: ignore[attr-defined]
            contract._import_charges = extra  # type: ignore[attr-defined]
            built.append((contract, values["lines"]))
            made += 1
        except ValidationError as e:
            errors.extend((_where(where, f), m) for f, m in messages_of(e))
        except (ValueError, TypeError, KeyError) as e:
            errors.append((where, getattr(e, "message", str(e))))
        except (OverflowError, ArithmeticError):
            errors.append((where, "a value is out of range for its field"))
        if len(built) >= CHUNK:
            _flush(refs, built, errors, first, i)
            first = i + 1
    if refs is not None:
        _flush(refs, built, errors, first, len(records) - 1)
    return made


def contract_refs(company: Company, records: list[Any], **kwargs: Any) -> Refs:
    """Everything the contracts of the file need from the database, in a few queries."""
    from django.contrib.auth import get_user_model

    names = sorted({str(k["issuer"]) for k in records if isinstance(k, dict) and k.get("issuer")})
    users = {}
    for start in range(0, len(names), 5000):  # under SQLite's limit on parameters
        found = get_user_model().objects.filter(username__in=names[start : start + 5000])
        users.update({u.username: u for u in found})
    return Refs(
        company=company,
        users=users,
        members=set(Membership.objects.filter(company=company).values_list("user_id", flat=True)),
        default_series=InvoiceSeries.objects.filter(company=company, is_default=True).first(),
        numbers_taken=set(company.contracts.values_list("number", flat=True)),
        client_of_company=Client(company=company),
        **kwargs,
    )
