"""Writes for companies, memberships and invoice series."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from recurent.common.addresses import Address, clean_address
from recurent.common.errors import engine_message, field_error
from recurent.common.text import invisible_name_errors
from recurent.engine import identifiers, numbering

from .logo import logo_prepare
from .models import Company, InvoiceSeries, Membership, Role


def _clean_company(company: Company) -> None:
    errors: dict[str, list[ValidationError]] = {}
    try:
        company.cui = identifiers.clean_cui(company.cui, "cui")
    except identifiers.IdentifierError:
        errors["cui"] = [
            ValidationError(
                _("%(value)s is not a valid %(what)s: check the digits"),
                code="tax_id_invalid",
                params={"value": company.cui, "what": _("CUI/CIF")},
            )
        ]
    else:
        # On an invoice the RO prefix says "VAT payer": it must agree with the flag (BR-RO-065).
        if company.vat_payer and not company.cui.startswith("RO"):
            errors["cui"] = [
                ValidationError(
                    _("a VAT payer's CUI/CIF is written with the RO prefix"), code="cui_prefix"
                )
            ]
        elif not company.vat_payer and company.cui.startswith("RO"):
            errors["cui"] = [
                ValidationError(
                    _("a company that is not a VAT payer has no RO prefix"), code="cui_prefix"
                )
            ]
    if company.iban:
        try:
            company.iban = identifiers.clean_iban(company.iban)
        except identifiers.IdentifierError:
            errors["iban"] = [
                ValidationError(
                    _("%(value)s is not a valid IBAN: check the letters and digits"),
                    code="iban_invalid",
                    params={"value": company.iban},
                )
            ]
    address, address_errors = clean_address(Address(company.country, company.county, company.city))
    company.country, company.county, company.city = address.country, address.county, address.city
    errors.update(address_errors)
    errors.update(invisible_name_errors({"legal_name": company.legal_name}))  # type: ignore[arg-type]
    if errors:
        raise ValidationError(errors)
    company.full_clean()


@transaction.atomic
def company_create(**fields: Any) -> Company:
    logo = fields.pop("logo", None)
    company = Company(**fields)
    _clean_company(company)
    _set_logo(company, logo)
    company.save()
    return company


@transaction.atomic
def company_found(*, user: User, **fields: Any) -> Company:
    """A new company with ``user`` as its first administrator (the guided set-up's first step):
    both or neither, so a refused membership never leaves a company nobody can reach."""
    company = company_create(**fields)
    membership_grant(user=user, company=company, role=Role.ADMIN)
    return company


def _set_logo(company: Company, value: Any) -> None:
    """``False`` clears the logo (a form's "clear" box), a new upload is checked and scaled
    down (companies/logo.py), the current file (or None) leaves it as it is."""
    from django.db.models.fields.files import FieldFile

    if value is False or value == "":
        company.logo = ""  # type: ignore[assignment]
    elif value is None or isinstance(value, FieldFile):
        return
    else:
        small = logo_prepare(upload=value)
        company.logo.save(small.name or "logo.png", small, save=False)


@transaction.atomic
def company_update(*, company: Company, **fields: Any) -> Company:
    logo = fields.pop("logo", None)
    for k, v in fields.items():
        setattr(company, k, v)
    _clean_company(company)
    _set_logo(company, logo)
    company.save()
    return company


def membership_grant(*, user: User, company: Company, role: str = Role.ACCOUNTANT) -> Membership:
    if role not in Role.values:
        raise field_error(
            "role",
            gettext_lazy("unknown role %(role)s; expected one of %(value)s"),
            "unknown_role",
            role=repr(role),
            value=", ".join(Role.values),
        )
    m, _ = Membership.objects.update_or_create(user=user, company=company, defaults={"role": role})
    return m


@transaction.atomic
def series_create(
    *,
    company: Company,
    code: str,
    next_number: int = 1,
    yearly_restart: bool = False,
    is_default: bool = False,
    is_credit: bool = False,
    width: int = 6,
) -> InvoiceSeries:
    try:
        code = numbering.check_series_code(code)
    except numbering.NumberingError as e:
        raise ValidationError({"code": engine_message(e)}) from None
    if next_number < 1:
        raise field_error("next_number", gettext_lazy("must be 1 or more"), "min_value")
    if is_default:
        InvoiceSeries.objects.filter(company=company, is_default=True).update(is_default=False)
    elif (
        not InvoiceSeries.objects.filter(company=company, is_default=True).exists()
        and not is_credit
    ):
        is_default = True  # a company always has one default series
    series = InvoiceSeries(
        company=company,
        code=code,
        next_number=next_number,
        yearly_restart=yearly_restart,
        is_default=is_default,
        is_credit=is_credit,
        width=width,
    )
    series.full_clean()
    series.save()
    return series
