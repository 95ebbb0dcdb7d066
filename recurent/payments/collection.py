"""Direct debit on the basis of a prior agreement (SEPA Direct Debit Core, pain.008).

The flow: a mandate per client → ``collection_create`` writes a pain.008 file for the open
invoices of clients with an active mandate and marks each one "collection requested" (a
``CollectionItem``, never a change to the invoice) → the bank statement import finds each
transaction by its EndToEndId and either records the payment (``collection_settle``) or, on a
return, reverses it and puts the invoice back to unpaid with the bank's reason
(``collection_return``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from lxml import etree

from recurent.clients.models import Client
from recurent.common.errors import engine_message, field_error
from recurent.companies.models import Company
from recurent.engine import identifiers
from recurent.invoices.models import Invoice

from . import selectors
from .models import (
    CollectionItem,
    CollectionRun,
    CollectionStatus,
    CreditorSettings,
    Mandate,
    MandateStatus,
    Payment,
    PaymentMethod,
    PaymentSource,
    StatementLine,
)
from .services import _lock_invoices, _user, payment_record, payment_reverse

SCHEMAS = ("pain.008.001.02", "pain.008.001.08")


def schema_path(schema: str) -> Path:
    import sepaxml

    return Path(sepaxml.__file__).parent / "schemas" / f"{schema}.xsd"


def validate_pain008(content: bytes, schema: str) -> None:
    """Raise ValidationError unless ``content`` is valid against the XSD shipped with sepaxml."""
    xsd = etree.XMLSchema(etree.parse(str(schema_path(schema))))
    doc = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    if not xsd.validate(doc):
        err = xsd.error_log.last_error
        raise field_error(
            "file",
            gettext_lazy("%(schema)s invalid at line %(line)s: %(reason)s"),
            "invalid_line",
            schema=schema,
            line=err.line,
            reason=err.message,
        )


# --- mandates ----------------------------------------------------------------------------------


@transaction.atomic
def mandate_create(
    *,
    company: Company,
    client: Client,
    mandate_id: str,
    signed_on: date,
    debtor_iban: str,
    debtor_name: str,
    debtor_bic: str = "",
    user: AbstractBaseUser | None,
) -> Mandate:
    errors: dict[str, list[Any]] = {}
    if client.company_id != company.pk:
        errors["client"] = [ValidationError(gettext_lazy("unknown client"), code="unknown_client")]
    mandate_id = (mandate_id or "").strip()
    if not mandate_id or len(mandate_id) > 35:
        errors["mandate_id"] = [
            ValidationError(gettext_lazy("1 to 35 characters"), code="invalid_length")
        ]
    elif Mandate.objects.filter(company=company, mandate_id=mandate_id).exists():
        errors["mandate_id"] = [
            ValidationError(gettext_lazy("this mandate id is already used"), code="duplicate")
        ]
    try:
        debtor_iban = identifiers.clean_iban(debtor_iban)
    except identifiers.IdentifierError as e:
        errors["debtor_iban"] = [engine_message(e)]
    if not (debtor_name or "").strip():
        errors["debtor_name"] = [
            ValidationError(
                gettext_lazy("the account holder's name is required"),
                code="required",
            )
        ]
    if Mandate.objects.filter(client=client, status=MandateStatus.ACTIVE).exists():
        errors["client"] = [
            ValidationError(
                gettext_lazy("the client already has an active mandate; revoke it first"),
                code="mandate_exists",
            )
        ]
    if errors:
        raise ValidationError(errors)
    return Mandate.objects.create(
        company=company, client=client, mandate_id=mandate_id, signed_on=signed_on,
        debtor_iban=debtor_iban, debtor_name=debtor_name.strip()[:70],
        debtor_bic=(debtor_bic or "").strip().upper(), status=MandateStatus.ACTIVE,
    )  # fmt: skip


def mandate_set_status(*, mandate: Mandate, status: str, user: AbstractBaseUser | None) -> Mandate:
    if status not in MandateStatus.values:
        raise field_error(
            "status",
            gettext_lazy("one of %(value)s"),
            "one",
            value=", ".join(MandateStatus.values),
        )
    if (
        status == MandateStatus.ACTIVE
        and Mandate.objects.filter(client=mandate.client, status=MandateStatus.ACTIVE)
        .exclude(pk=mandate.pk)
        .exists()
    ):
        raise field_error(
            "status",
            gettext_lazy("the client already has another active mandate"),
            "mandate_exists",
        )
    mandate.status = status
    mandate.save(update_fields=["status", "updated_at"])
    return mandate


def creditor_settings_save(
    *, company: Company, creditor_id: str, bic: str, iban: str, user: AbstractBaseUser | None
) -> CreditorSettings:
    errors: dict[str, list[Any]] = {}
    if not (creditor_id or "").strip():
        errors["creditor_id"] = [
            ValidationError(
                gettext_lazy("the SEPA creditor identifier given by the bank"),
                code="required",
            )
        ]
    if not (bic or "").strip() or len(bic.strip()) not in {8, 11}:
        errors["bic"] = [ValidationError(gettext_lazy("8 or 11 characters"), code="invalid_length")]
    try:
        iban = identifiers.clean_iban(iban)
    except identifiers.IdentifierError as e:
        errors["iban"] = [engine_message(e)]
    if errors:
        raise ValidationError(errors)
    obj, _ = CreditorSettings.objects.update_or_create(
        company=company,
        defaults={"creditor_id": creditor_id.strip(), "bic": bic.strip().upper(), "iban": iban},
    )
    return obj


# --- collection files --------------------------------------------------------------------------


def collectible(
    *, company: Company, collection_date: date, currency: str, as_of: date | datetime
) -> list[tuple[Any, Mandate]]:
    """Open invoices due by ``collection_date`` of clients with an active mandate, not yet requested."""
    mandates = {
        m.client_id: m for m in Mandate.objects.filter(company=company, status=MandateStatus.ACTIVE)
    }
    qs: QuerySet[Invoice] = Invoice.objects.filter(
        company=company,
        currency=currency,
        client_id__in=list(mandates),
        due_date__lte=collection_date,
    )
    out = []
    for inv in selectors.open_invoices(qs, as_of).select_related("client"):
        if inv.collection_requested:
            continue
        out.append((inv, mandates[inv.client_id]))
    return out


@transaction.atomic
def collection_create(
    *,
    company: Company,
    collection_date: date,
    as_of: datetime,
    user: AbstractBaseUser | None,
    currency: str = "RON",
    invoice_ids: Sequence[int] | None = None,
    schema: str = "pain.008.001.02",
) -> CollectionRun:
    """Write a pain.008 file for the collectible invoices (or the chosen ones among them)."""
    from sepaxml import SepaDD

    if schema not in SCHEMAS:
        raise field_error(
            "schema", gettext_lazy("one of %(value)s"), "one", value=", ".join(SCHEMAS)
        )
    if collection_date <= selectors.day_of(as_of):
        raise field_error(
            "collection_date",
            gettext_lazy("the collection date must be after today"),
            "date_not_future",
        )
    creditor = CreditorSettings.objects.filter(company=company).first()
    if creditor is None:
        raise field_error(
            "creditor",
            gettext_lazy("enter the SEPA creditor identifier and BIC of the company first"),
            "creditor_missing",
        )
    candidates = collectible(
        company=company, collection_date=collection_date, currency=currency, as_of=as_of
    )
    if invoice_ids is not None:
        wanted = set(invoice_ids)
        candidates = [(inv, m) for inv, m in candidates if inv.pk in wanted]
    if not candidates:
        raise field_error(
            "invoices",
            gettext_lazy("no invoice to collect for this date"),
            "nothing_to_collect",
        )
    # Lock the invoices, then re-check: a payment or another file may have come in meanwhile.
    _lock_invoices([inv.pk for inv, _ in candidates])
    fresh = {
        i.pk: i
        for i in selectors.open_invoices(
            Invoice.objects.filter(pk__in=[inv.pk for inv, _ in candidates]), as_of
        )
    }
    sdd = SepaDD(
        {
            "name": company.legal_name, "IBAN": creditor.iban, "BIC": creditor.bic,
            "batch": True, "creditor_id": creditor.creditor_id, "currency": currency,
            "instrument": "CORE",
        },
        schema=schema,
        clean=True,
    )  # fmt: skip
    items: list[CollectionItem] = []
    total = Decimal(0)
    first_time: set[int] = set()
    for inv, mandate in candidates:
        f = fresh.get(inv.pk)
        if f is None or f.collection_requested:
            continue
        amount = f.outstanding_amount
        seq = "FRST" if mandate.first_collected_on is None else "RCUR"
        if seq == "FRST":
            first_time.add(mandate.pk)
        e2e = f"RC{inv.pk}X{secrets.token_hex(6).upper()}"
        payment: dict[str, Any] = {
            "name": mandate.debtor_name, "IBAN": mandate.debtor_iban, "amount": int(amount * 100),
            "type": seq, "collection_date": collection_date, "mandate_id": mandate.mandate_id,
            "mandate_date": mandate.signed_on, "description": f"Factura {inv.full_number}",
            "endtoend_id": e2e,
        }  # fmt: skip
        if mandate.debtor_bic:
            payment["BIC"] = mandate.debtor_bic
        sdd.add_payment(payment)
        items.append(
            CollectionItem(
                invoice=inv, mandate=mandate, amount=amount, end_to_end_id=e2e, sequence_type=seq
            )
        )
        total += amount
    if not items:
        raise field_error(
            "invoices",
            gettext_lazy("no invoice to collect for this date"),
            "nothing_to_collect",
        )
    content = sdd.export(validate=False, pretty_print=True)
    validate_pain008(content, schema)
    run = CollectionRun.objects.create(
        company=company, collection_date=collection_date, currency=currency,
        message_id=sdd.msg_id[:35], schema=schema, content=content, created_at=as_of,
        created_by=_user(user), total=total, count=len(items),
    )  # fmt: skip
    for it in items:
        it.run = run
    CollectionItem.objects.bulk_create(items)
    Mandate.objects.filter(pk__in=first_time).update(first_collected_on=collection_date)
    return run


def collection_settle(
    *, item: CollectionItem, line: StatementLine, as_of: datetime, user: AbstractBaseUser | None
) -> Payment:
    """The bank credited a collected invoice: record the payment (inside the import transaction)."""
    inv = item.invoice
    due = selectors.outstanding(inv)
    amount = min(line.amount, due)
    allocations = [(inv, amount)] if amount > 0 else []
    payment = payment_record(
        company=inv.company, client=inv.client, date=line.booking_date, amount=line.amount,
        currency=line.currency, method=PaymentMethod.DIRECT_DEBIT,
        reference=f"{item.mandate.mandate_id} {item.end_to_end_id}", allocations=allocations,
        as_of=as_of, user=user, source=PaymentSource.STATEMENT, statement_line=line,
    )  # fmt: skip
    item.status = CollectionStatus.PAID
    item.payment = payment
    item.updated_at = as_of
    item.save(update_fields=["status", "payment", "updated_at"])
    return payment


def collection_return(
    *, item: CollectionItem, reason: str, as_of: datetime, user: AbstractBaseUser | None
) -> None:
    """The debit came back (refused, no funds, mandate cancelled): the invoice is unpaid again."""
    reason = reason or "returned by the bank"
    paid = item.payment
    if paid is not None and not paid.reversed:
        payment_reverse(
            payment=paid, reason=f"direct debit returned: {reason}", as_of=as_of, user=user
        )
    item.status = CollectionStatus.RETURNED
    item.return_reason = reason[:200]
    item.updated_at = as_of
    item.save(update_fields=["status", "return_reason", "updated_at"])
