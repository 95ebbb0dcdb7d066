"""The JSON import (format in docs/import-format.md): all or nothing.

Every record is validated by the same services the web app uses, each inside a
savepoint so that validation goes on past the first bad record; at the end, any error
rolls back the whole import and every bad record is reported with its position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils.translation import gettext_lazy

from recurent.catalog.models import Product
from recurent.catalog.services import product_create, product_update
from recurent.clients.models import Client
from recurent.clients.services import client_create, client_update
from recurent.common.errors import engine_message, field_error, messages_of
from recurent.companies.models import Company, InvoiceSeries, Role
from recurent.companies.services import company_create, membership_grant, series_create
from recurent.engine import identifiers, money
from recurent.engine.cycles import BUCHAREST, Cycle, ScheduleError

from .services import LineSpec, contract_create

PRODUCT_FIELDS = {"code", "name", "description", "unit_code", "unit_name", "unit_price", "currency",
                  "vat_category", "vat_rate", "active", "self_service"}  # fmt: skip
CLIENT_FIELDS = {"kind", "name", "tax_id", "trade_register", "street", "city", "county", "country",
                 "postal_code", "emails", "iban", "bank", "payment_term_days", "notes", "language"}  # fmt: skip
COMPANY_FIELDS = {"legal_name", "cui", "trade_register", "street", "city", "county", "country", "postal_code",
                  "iban", "bank", "vat_payer", "vat_on_collection", "share_capital", "email", "phone"}  # fmt: skip
CONTRACT_BILLING = {"cycle", "every_days", "in_arrears", "payment_term_days", "currency", "invoice_currency",
                    "auto_email", "email_template_code", "proforma_first", "proforma_valid_days"}  # fmt: skip


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    company_id: int | None = None


class ImportFailed(Exception):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors


# Deeper than any record of the format (docs/import-format.md): a file nested further is not an
# import but a way to exhaust the parser's stack.
MAX_DEPTH = 16
# Whole numbers in the file (series numbers, widths, days) fit a signed 64-bit column.
MAX_INT = 2**63 - 1


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ImportFailed([("$", f"the number {text[:30]} is too large")])
    return value


def _no_constant(name: str) -> None:
    raise ImportFailed([("$", f"{name} is not a number JSON allows")])


def load_import_file(raw: bytes) -> Any:
    """The file's JSON, or ImportFailed with the position of what is wrong: not UTF-8, not
    JSON, nested too deeply, numbers out of range, NUL characters."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ImportFailed(
            [(f"line {line}, column {column}",
              f"not UTF-8 text (byte 0x{raw[e.start]:02x}); save the file as UTF-8")]
        ) from None  # fmt: skip
    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ImportFailed([(f"line {e.lineno}, column {e.colno}", f"not JSON: {e.msg}")]) from None
    except RecursionError:
        raise ImportFailed([("$", f"nested too deeply (at most {MAX_DEPTH} levels)")]) from None
    except ValueError as e:  # an integer of thousands of digits
        raise ImportFailed([("$", f"a number is too large ({e})")]) from None
    errors = _shape_errors(data)
    if errors:
        raise ImportFailed(errors)
    return data


def _shape_errors(data: Any) -> list[tuple[str, str]]:
    """Nesting, NUL characters and integers out of range, each with its path."""
    errors: list[tuple[str, str]] = []
    stack: list[tuple[str, Any, int]] = [("$", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            errors.append((path, f"nested too deeply (at most {MAX_DEPTH} levels)"))
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                where = k if path == "$" else f"{path}.{k}"
                if "\x00" in k:
                    errors.append((where.replace("\x00", "\\0"), "a NUL character in a name"))
                stack.append((where, v, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))
        elif isinstance(value, str) and "\x00" in value:
            errors.append((path, "contains a NUL character"))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            errors.append((path, "the number is too large"))
    return sorted(errors)


def _int(value: Any, where: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise field_error(where, gettext_lazy("a whole number"), "whole_number")
    try:
        n = int(value)
    except ValueError:
        raise field_error(
            where,
            gettext_lazy("%(value)s is not a whole number"),
            "not_whole_number",
            value=repr(str(value)[:30]),
        ) from None
    if not 0 <= n <= 10**9:
        raise field_error(where, gettext_lazy("between 0 and 1000000000"), "out_of_range")
    return n


def _unknown(where: str, data: dict, allowed: set[str]) -> list[tuple[str, str]]:
    return [(f"{where}.{k}", "unknown field") for k in data if k not in allowed]


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise field_error(
            where,
            gettext_lazy("an ISO 8601 date-time, e.g. 2026-01-31T09:00 (Bucharest time)"),
            "not_a_datetime",
        )
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise field_error(
            where,
            gettext_lazy("%(value)s is not an ISO 8601 date-time"),
            "not_a_datetime",
            value=repr(value),
        ) from None
    return dt.replace(tzinfo=BUCHAREST, fold=0) if dt.tzinfo is None else dt


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise field_error(
            where,
            gettext_lazy("%(value)s is not a date (YYYY-MM-DD)"),
            "not_a_date",
            value=repr(value),
        ) from None


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return money.to_decimal(value, where)
    except money.MoneyError as e:
        raise ValidationError({where: engine_message(e)}) from None


class _Collector:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def attempt(self, where: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        except ValidationError as e:
            for fld, msg in messages_of(e):
                path = (
                    where
                    if fld == "__all__"
                    else (fld if fld.startswith(where) else f"{where}.{fld}")
                )
                self.errors.append((path, msg))
        except (ValueError, TypeError, KeyError) as e:
            self.errors.append((where, getattr(e, "message", str(e))))
        except (OverflowError, ArithmeticError, DataError):
            self.errors.append((where, "a value is out of range for its field"))
        except IntegrityError:
            self.errors.append((where, "conflicts with an existing record (a duplicate?)"))
        return None


def _tax_key(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "").removeprefix("RO")


@transaction.atomic
def import_data(data: Any, *, user=None) -> ImportReport:  # type: ignore[no-untyped-def]
    """Import company, series, products, clients and contracts; raises ImportFailed listing every error."""
    if not isinstance(data, dict):
        raise ImportFailed([("$", "the file must hold a JSON object")])
    errs = _Collector()
    rep = ImportReport()
    errs.errors += _unknown(
        "$", data, {"company", "series", "products", "clients", "contracts", "version"}
    )
    User = get_user_model()

    # Company: matched by CUI (digits), created when new.
    cdata = data.get("company")
    company: Company | None = None
    if not isinstance(cdata, dict):
        errs.errors.append(("company", "required: an object with the seller's data"))
    else:
        errs.errors += _unknown("company", cdata, COMPANY_FIELDS)
        try:
            cui_digits = _tax_key(identifiers.clean_cui(str(cdata.get("cui", "")), "company.cui"))
        except identifiers.IdentifierError as e:
            errs.errors.append(("company.cui", e.message))
            cui_digits = None
        if cui_digits:
            company = next(
                (c for c in Company.objects.all() if _tax_key(c.cui) == cui_digits), None
            )
            if company is None:
                company = errs.attempt(
                    "company",
                    company_create,
                    **{k: v for k, v in cdata.items() if k in COMPANY_FIELDS},
                )
                if company:
                    rep.created["companies"] = 1
    if company is not None:
        rep.company_id = company.pk
        if user is not None:
            membership_grant(user=user, company=company, role=Role.ADMIN)

    series_by_code: dict[str, InvoiceSeries] = {}
    if company is not None:
        series_by_code = {s.code: s for s in company.series.all()}
    for i, s in enumerate(data.get("series") or []):
        where = f"series[{i}]"
        if not isinstance(s, dict):
            errs.errors.append((where, "an object"))
            continue
        errs.errors += _unknown(
            where, s, {"code", "next_number", "yearly_restart", "default", "credit", "width"}
        )
        if company is None or str(s.get("code", "")).upper() in series_by_code:
            continue
        try:
            next_number = _int(s.get("next_number"), f"{where}.next_number", 1)
            width = _int(s.get("width"), f"{where}.width", 6)
        except ValidationError as e:
            errs.errors += messages_of(e)
            continue
        made = errs.attempt(
            where, series_create, company=company, code=str(s.get("code", "")),
            next_number=next_number, yearly_restart=bool(s.get("yearly_restart", False)),
            is_default=bool(s.get("default", False)), is_credit=bool(s.get("credit", False)),
            width=width,
        )  # fmt: skip
        if made:
            series_by_code[made.code] = made
            rep.created["series"] = rep.created.get("series", 0) + 1

    products: dict[str, Product] = {}
    if company is not None:
        products = {p.code: p for p in company.products.all()}
    product_seen: dict[str, str] = {}  # code -> where in the file: one record per code
    for i, p in enumerate(data.get("products") or []):
        where = f"products[{i}]"
        if not isinstance(p, dict):
            errs.errors.append((where, "an object"))
            continue
        errs.errors += _unknown(where, p, PRODUCT_FIELDS)
        if company is None:
            continue
        code = str(p.get("code", ""))
        if code in product_seen:
            errs.errors.append((f"{where}.code", f"{code!r} is already in {product_seen[code]}"))
            continue
        product_seen[code] = where
        fields = {k: v for k, v in p.items() if k in PRODUCT_FIELDS}
        if "unit_price" in fields:
            try:
                fields["unit_price"] = _decimal(fields["unit_price"], f"{where}.unit_price")
            except ValidationError as e:
                errs.errors += messages_of(e)
                continue
        existing = products.get(str(p.get("code", "")))
        if existing:
            made = errs.attempt(where, product_update, product=existing, **fields)
            key = "updated"
        else:
            made = errs.attempt(where, product_create, company=company, **fields)
            key = "created"
        if made:
            products[made.code] = made
            getattr(rep, key)["products"] = getattr(rep, key).get("products", 0) + 1

    clients: dict[str, Client] = {}
    if company is not None:
        for c in company.clients.all():
            clients[c.tax_id and _tax_key(c.tax_id) or f"name:{c.name}"] = c
    client_refs: dict[str, Client] = {}
    ref_seen: dict[str, str] = {}  # ref -> where in the file
    client_seen: dict[str, str] = {}  # tax id (or name) -> where in the file
    for i, c in enumerate(data.get("clients") or []):
        where = f"clients[{i}]"
        if not isinstance(c, dict):
            errs.errors.append((where, "an object"))
            continue
        errs.errors += _unknown(where, c, CLIENT_FIELDS | {"ref"})
        if company is None:
            continue
        fields = {k: v for k, v in c.items() if k in CLIENT_FIELDS}
        if isinstance(fields.get("emails"), str):
            fields["emails"] = [e.strip() for e in fields["emails"].split(",") if e.strip()]
        key_ = _tax_key(str(c.get("tax_id", ""))) or f"name:{c.get('name', '')}"
        ref = str(c.get("ref") or "")
        if ref and ref in ref_seen:
            errs.errors.append((f"{where}.ref", f"{ref!r} is already the ref of {ref_seen[ref]}"))
            continue
        if key_ in client_seen:
            what = "tax_id" if not key_.startswith("name:") else "name"
            errs.errors.append((f"{where}.{what}", f"the same client as {client_seen[key_]}"))
            continue
        if ref:
            ref_seen[ref] = where
        client_seen[key_] = where
        existing_c = clients.get(key_)
        if existing_c:
            made_c = errs.attempt(where, client_update, client=existing_c, **fields)
            kind = "updated"
        else:
            made_c = errs.attempt(where, client_create, company=company, **fields)
            kind = "created"
        if made_c:
            clients[key_] = made_c
            for ref in {
                str(c.get("ref") or ""),
                str(c.get("tax_id") or ""),
                _tax_key(str(c.get("tax_id") or "")),
            }:
                if ref:
                    client_refs[ref] = made_c
            getattr(rep, kind)["clients"] = getattr(rep, kind).get("clients", 0) + 1

    default_issuer = user or User.objects.filter(is_superuser=True).order_by("pk").first()
    number_seen: dict[str, str] = {}  # contract number -> where in the file
    numbers_taken = (
        set(company.contracts.values_list("number", flat=True)) if company is not None else set()
    )
    for i, k in enumerate(data.get("contracts") or []):
        where = f"contracts[{i}]"
        if not isinstance(k, dict):
            errs.errors.append((where, "an object"))
            continue
        allowed = CONTRACT_BILLING | {"number", "client", "signed_on", "first_issue_at", "ends_at", "series",
                                      "issuer", "lines", "status"}  # fmt: skip
        errs.errors += _unknown(where, k, allowed)
        if company is None:
            continue
        found: list[tuple[str, str]] = []
        number = str(k.get("number", ""))
        if number in number_seen:
            errs.errors.append(
                (f"{where}.number", f"{number!r} is already in {number_seen[number]}")
            )
            continue
        number_seen[number] = where
        if number in numbers_taken:
            errs.errors.append(
                (f"{where}.number", f"the company has a contract {number!r} already")
            )
            continue

        def problem(path: str, msg: str, found: list[tuple[str, str]] = found) -> None:
            found.append((path, msg))

        cref = str(k.get("client", ""))
        client = client_refs.get(cref) or clients.get(_tax_key(cref))
        if client is None:
            problem(
                f"{where}.client", f"unknown or invalid client {cref!r} (use its ref or CUI/CNP)"
            )
        code = str(k.get("series") or "")
        series = series_by_code.get(code.upper()) if code else None
        if code and series is None:
            problem(f"{where}.series", f"unknown series {code!r}")
        issuer = default_issuer
        if k.get("issuer"):
            issuer = User.objects.filter(username=k["issuer"]).first()
            if issuer is None:
                problem(f"{where}.issuer", f"unknown user {k['issuer']!r}")
        elif issuer is None:
            problem(f"{where}.issuer", "no issuing user: name one or create a superuser")
        lines = []
        for j, li in enumerate(k.get("lines") or []):
            lw = f"{where}.lines[{j}]"
            if not isinstance(li, dict):
                problem(lw, "an object")
                continue
            prod = products.get(str(li.get("product", "")))
            if prod is None:
                problem(f"{lw}.product", f"unknown product {li.get('product')!r}")
            try:
                q = _decimal(li.get("quantity", "1"), f"{lw}.quantity")
                up = (
                    None
                    if li.get("unit_price") is None
                    else _decimal(li["unit_price"], f"{lw}.unit_price")
                )
            except ValidationError as e:
                found.extend(messages_of(e))
                continue
            if q <= 0:
                problem(f"{lw}.quantity", "must be greater than zero")
            if up is not None and up < 0:
                problem(f"{lw}.unit_price", "cannot be negative")
            if prod is not None:
                lines.append(
                    LineSpec(
                        product=prod,
                        quantity=q,
                        unit_price=up,
                        description=str(li.get("description", "")),
                    )
                )
        status = k.get("status", "active")
        if status not in {"active", "draft"}:
            problem(f"{where}.status", "active or draft")
        try:
            first_at = _instant(k.get("first_issue_at"), f"{where}.first_issue_at")
            ends_at = _instant(k["ends_at"], f"{where}.ends_at") if k.get("ends_at") else None
            signed = _date(k.get("signed_on"), f"{where}.signed_on")
        except ValidationError as e:
            found.extend(messages_of(e))
        try:
            Cycle.parse(str(k.get("cycle", "monthly")), k.get("every_days"))
        except ScheduleError as e:
            problem(f"{where}.{e.field}", e.message)
        if found:
            errs.errors.extend(found)
            continue
        assert client is not None and issuer is not None
        if user is None:
            membership_grant(user=issuer, company=company, role=Role.ADMIN)
        made = errs.attempt(
            where, contract_create, company=company, client=client, number=str(k.get("number", "")),
            signed_on=signed, first_issue_at=first_at, ends_at=ends_at, series=series, issuer=issuer,
            lines=lines, activate=status == "active", actor="import",
            **{b: k[b] for b in CONTRACT_BILLING if b in k},
        )  # fmt: skip
        if made:
            rep.created["contracts"] = rep.created.get("contracts", 0) + 1
    if errs.errors:
        # The same problem can be found by a field validator and by clean(): report it once.
        raise ImportFailed(list(dict.fromkeys(errs.errors)))
    return rep
