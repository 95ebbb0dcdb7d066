"""The JSON import (format in docs/import-format.md): all or nothing, every error positioned.

Every record is checked with the rules the web app's services apply (product_validate,
client_validate, contracts.services' own checks), in memory and without a query per record:
what the records point at (existing products, clients, contract numbers, users, members) is
read once per file. The good records are then written in bulk, a chunk at a time
(recurent.common.bulk), all in the one transaction of ``import_data``: the checks go on past
the first bad record and at the end, any error rolls back the whole import and every bad record
is reported with its position (``clients[12].tax_id``). Once an error is found nothing more is
written (it would be rolled back). Company and series are few and go through their services.
The file is read record by record (import_file.Records), not held as Python objects.
Speed and memory: docs/benchmarks/import.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from recurent.catalog.models import Product
from recurent.catalog.services import product_validate
from recurent.clients.models import Client
from recurent.clients.services import client_validate
from recurent.common import bulk, clock
from recurent.common.errors import messages_of
from recurent.companies.models import Company, InvoiceSeries, Role
from recurent.companies.services import company_create, membership_grant, series_create
from recurent.engine import identifiers

from .import_contracts import CHUNK, CONTRACT_BILLING, contract_refs, import_contracts
from .import_file import ImportFailed, load_import_file
from .import_values import decimal_of, int_of, tax_key, unknown

__all__ = ["CONTRACT_BILLING", "ImportFailed", "ImportReport", "import_data", "load_import_file"]

PRODUCT_FIELDS = {"code", "name", "description", "unit_code", "unit_name", "unit_price", "currency",
                  "vat_category", "vat_rate", "active", "self_service"}  # fmt: skip
CLIENT_FIELDS = {"kind", "name", "tax_id", "trade_register", "street", "city", "county", "country",
                 "postal_code", "emails", "iban", "bank", "payment_term_days", "notes", "language"}  # fmt: skip
COMPANY_FIELDS = {"legal_name", "cui", "trade_register", "street", "city", "county", "country", "postal_code",
                  "iban", "bank", "vat_payer", "vat_on_collection", "share_capital", "email", "phone",
                  # The billing policies of issue 19 (docs/import-format.md), for a new company.
                  "proration_policy", "review_before_issue", "review_stale_days", "usage_cutoff_days",
                  "interest_enabled", "interest_rule", "interest_daily_percent", "interest_min_amount"}  # fmt: skip


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    company_id: int | None = None
    # (field, why) of the file's company policies an existing company did not take: the import
    # never changes a company it finds; the owner changes them in Settings.
    kept: list[tuple[str, str]] = field(default_factory=list)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def attempt(self, where: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """``fn`` (a service that writes) in a savepoint; its errors on ``where``."""
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        except (ValidationError, ValueError, TypeError, KeyError, OverflowError, ArithmeticError,
                DataError, IntegrityError) as e:  # fmt: skip
            self.failed(where, e)
        return None

    def check(self, where: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """``fn`` (checks in memory, no write) with its errors on ``where``."""
        try:
            return fn(*args, **kwargs)
        except (ValidationError, ValueError, TypeError, KeyError, OverflowError,
                ArithmeticError) as e:  # fmt: skip
            self.failed(where, e)
        return None

    def failed(self, where: str, e: Exception) -> None:
        if isinstance(e, ValidationError):
            for fld, msg in messages_of(e):
                path = (
                    where
                    if fld == "__all__"
                    else (fld if fld.startswith(where) else f"{where}.{fld}")
                )
                self.errors.append((path, msg))
        elif isinstance(e, IntegrityError):
            self.errors.append((where, "conflicts with an existing record (a duplicate?)"))
        elif isinstance(e, OverflowError | ArithmeticError | DataError):
            self.errors.append((where, "a value is out of range for its field"))
        else:
            self.errors.append((where, getattr(e, "message", str(e))))

    def save(self, model: Any, new: list, changed: list, where: str) -> None:
        """Write checked records (new ones get their ids), unless the import already failed."""
        if self.errors or not (new or changed):
            new.clear()
            changed.clear()
            return
        try:
            with transaction.atomic():  # a savepoint per chunk: the checks go on after a failure
                bulk.insert_objects(model, new, returning_ids=True)
                if changed:
                    now = clock.now()
                    for o in changed:
                        o.updated_at = now
                    names = [f.name for f in model._meta.concrete_fields if not f.primary_key]
                    model.objects.bulk_update(changed, names, batch_size=500)
        except (IntegrityError, DataError):
            self.errors.append((where, "conflicts with an existing record (a duplicate?)"))
        new.clear()
        changed.clear()


def _build(model: Any, validate: Any, company: Company, existing: Any, fields: dict) -> Any:
    """A new record (or ``existing`` changed) checked as its create/update service checks it;
    ``company`` is the import's own, so not read again for every record."""
    if existing is None:
        obj = model(company=company, **fields)
    else:
        obj = existing
        for k, v in fields.items():
            setattr(obj, k, v)
    validate(obj, exclude=("company",))
    return obj


def _company(data: dict, errs: _Collector, rep: ImportReport, user: Any) -> Company | None:
    """Matched by CUI (digits), created when new."""
    cdata = data.get("company")
    company: Company | None = None
    if not isinstance(cdata, dict):
        errs.errors.append(("company", "required: an object with the seller's data"))
        return None
    errs.errors += unknown("company", cdata, COMPANY_FIELDS)
    try:
        cui_digits = tax_key(identifiers.clean_cui(str(cdata.get("cui", "")), "company.cui"))
    except identifiers.IdentifierError as e:
        errs.errors.append(("company.cui", e.message))
        cui_digits = None
    if cui_digits:
        company = next((c for c in Company.objects.all() if tax_key(c.cui) == cui_digits), None)
        if company is None:
            company = errs.attempt(
                "company", company_create, **{k: v for k, v in cdata.items() if k in COMPANY_FIELDS}
            )
            if company:
                rep.created["companies"] = 1
        else:
            rep.kept += _policies_kept(company, cdata)
    if company is not None:
        rep.company_id = company.pk
        if user is not None:
            membership_grant(user=user, company=company, role=Role.ADMIN)
    return company


POLICY_FIELDS = ("proration_policy", "review_before_issue", "review_stale_days", "usage_cutoff_days",
                 "interest_enabled", "interest_rule", "interest_daily_percent", "interest_min_amount")  # fmt: skip


def _same(given: Any, current: Any) -> bool:
    try:
        return Decimal(str(given)) == Decimal(str(current))
    except (InvalidOperation, ValueError):
        return str(given).strip().lower() == str(current).strip().lower()


def _policies_kept(company: Company, cdata: dict) -> list[tuple[str, str]]:
    """The file's billing policies that differ from those of the existing ``company``."""
    return [
        (f"company.{name}", f"the file says {cdata[name]!r}; company {company.cui} keeps "
                            f"{getattr(company, name)!r} (change it in Settings)")
        for name in POLICY_FIELDS
        if name in cdata and not _same(cdata[name], getattr(company, name))
    ]  # fmt: skip


def _series(data: dict, company: Company | None, errs: _Collector, rep: ImportReport) -> dict:
    series_by_code: dict[str, InvoiceSeries] = {}
    if company is not None:
        series_by_code = {s.code: s for s in company.series.all()}
    for i, s in enumerate(data.get("series") or []):
        where = f"series[{i}]"
        if not isinstance(s, dict):
            errs.errors.append((where, "an object"))
            continue
        errs.errors += unknown(
            where, s, {"code", "next_number", "yearly_restart", "default", "credit", "width"}
        )
        if company is None or str(s.get("code", "")).upper() in series_by_code:
            continue
        try:
            next_number = int_of(s.get("next_number"), f"{where}.next_number", 1)
            width = int_of(s.get("width"), f"{where}.width", 6)
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
    return series_by_code


def _count(rep: ImportReport, kind: str, what: str) -> None:
    counts = getattr(rep, kind)
    counts[what] = counts.get(what, 0) + 1


def _products(data: dict, company: Company | None, errs: _Collector, rep: ImportReport) -> dict:
    """Matched by code: existing ones are updated."""
    products: dict[str, Product] = {}
    if company is not None:
        products = {p.code: p for p in company.products.all()}
    product_seen: dict[str, str] = {}  # code -> where in the file: one record per code
    new: list[Product] = []
    changed: list[Product] = []
    for i, p in enumerate(data.get("products") or []):
        where = f"products[{i}]"
        if not isinstance(p, dict):
            errs.errors.append((where, "an object"))
            continue
        errs.errors += unknown(where, p, PRODUCT_FIELDS)
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
                fields["unit_price"] = decimal_of(fields["unit_price"], f"{where}.unit_price")
            except ValidationError as e:
                errs.errors += messages_of(e)
                continue
        existing = products.get(code)
        made = errs.check(where, _build, Product, product_validate, company, existing, fields)
        if made:
            products[made.code] = made
            (changed if existing else new).append(made)
            _count(rep, "updated" if existing else "created", "products")
        if len(new) + len(changed) >= CHUNK:
            errs.save(Product, new, changed, "products")
    errs.save(Product, new, changed, "products")
    return products


def _clients(data: dict, company: Company | None, errs: _Collector, rep: ImportReport) -> dict:
    """Matched by CUI/CNP digits (or name when none): existing ones are updated. Returns the
    clients' ids by every name a contract may give them: ref, tax id as written, its digits."""
    clients: dict[str, Client] = {}
    if company is not None:
        for c in company.clients.all():
            clients[c.tax_id and tax_key(c.tax_id) or f"name:{c.name}"] = c
    # What a contract may name -> client id; the objects are let go chunk by chunk.
    ids = {k: c.pk for k, c in clients.items()}
    chunk: list[tuple[Client, set[str]]] = []  # checked, not yet written: their names
    ref_seen: dict[str, str] = {}  # ref -> where in the file
    client_seen: dict[str, str] = {}  # tax id (or name) -> where in the file
    new: list[Client] = []
    changed: list[Client] = []

    def write(where: str) -> None:
        errs.save(Client, new, changed, where)
        for made, names in chunk:
            ids.update(dict.fromkeys(names, made.pk or 0))
        chunk.clear()

    for i, c in enumerate(data.get("clients") or []):
        where = f"clients[{i}]"
        if not isinstance(c, dict):
            errs.errors.append((where, "an object"))
            continue
        errs.errors += unknown(where, c, CLIENT_FIELDS | {"ref"})
        if company is None:
            continue
        fields = {k: v for k, v in c.items() if k in CLIENT_FIELDS}
        if isinstance(fields.get("emails"), str):
            fields["emails"] = [e.strip() for e in fields["emails"].split(",") if e.strip()]
        key_ = tax_key(str(c.get("tax_id", ""))) or f"name:{c.get('name', '')}"
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
        existing = clients.get(key_)
        made = errs.check(where, _build, Client, client_validate, company, existing, fields)
        if made:
            tax_id = str(c.get("tax_id") or "")
            chunk.append((made, {key_, ref, tax_id, tax_key(tax_id)} - {""}))
            (changed if existing else new).append(made)
            _count(rep, "updated" if existing else "created", "clients")
        if len(chunk) >= CHUNK:
            write(f"clients[:{i + 1}]")
    write("clients")
    return ids


@transaction.atomic
def import_data(data: Any, *, user=None) -> ImportReport:  # type: ignore[no-untyped-def]
    """Import company, series, products, clients and contracts; raises ImportFailed listing every error."""
    if not isinstance(data, dict):
        raise ImportFailed([("$", "the file must hold a JSON object")])
    errs = _Collector()
    rep = ImportReport()
    errs.errors += unknown(
        "$", data, {"company", "series", "products", "clients", "contracts", "version"}
    )
    company = _company(data, errs, rep, user)
    series = _series(data, company, errs, rep)
    products = _products(data, company, errs, rep)
    clients = _clients(data, company, errs, rep)
    records = data.get("contracts") or []
    refs = None
    if company is not None:
        User = get_user_model()
        refs = contract_refs(
            company, records, clients=clients, series=series, products=products,
            default_issuer=user or User.objects.filter(is_superuser=True).order_by("pk").first(),
            grant_issuers=user is None, now=clock.now(),
        )  # fmt: skip
    made = import_contracts(records, refs, errs.errors)
    if made:
        rep.created["contracts"] = made
    if errs.errors:
        # The same problem can be found by a field validator and by clean(): report it once.
        raise ImportFailed(list(dict.fromkeys(errs.errors)))
    return rep
