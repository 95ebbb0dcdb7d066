"""Writes for companies, memberships and invoice series."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from recurent.engine import geo, identifiers, numbering

from .models import Company, InvoiceSeries, Membership, Role


def _clean_company(company: Company) -> None:
    errors: dict[str, list[str]] = {}
    try:
        company.cui = identifiers.clean_cui(company.cui, "cui")
    except identifiers.IdentifierError as e:
        errors["cui"] = [e.message]
    else:
        # On an invoice the RO prefix says "VAT payer": it must agree with the flag (BR-RO-065).
        if company.vat_payer and not company.cui.startswith("RO"):
            errors["cui"] = ["a VAT payer's CUI/CIF is written with the RO prefix"]
        elif not company.vat_payer and company.cui.startswith("RO"):
            errors["cui"] = ["a company that is not a VAT payer has no RO prefix"]
    if company.iban:
        try:
            company.iban = identifiers.clean_iban(company.iban)
        except identifiers.IdentifierError as e:
            errors["iban"] = [e.message]
    if company.country == "RO":
        try:
            company.county = geo.clean_county(company.county)
            if company.county == "RO-B":
                company.city = geo.clean_bucharest_city(company.city)
        except geo.AddressError as e:
            errors[e.field] = [e.message]
    if errors:
        raise ValidationError(errors)
    company.full_clean()


@transaction.atomic
def company_create(**fields: Any) -> Company:
    company = Company(**fields)
    _clean_company(company)
    company.save()
    return company


@transaction.atomic
def company_update(*, company: Company, **fields: Any) -> Company:
    for k, v in fields.items():
        setattr(company, k, v)
    _clean_company(company)
    company.save()
    return company


def membership_grant(*, user: User, company: Company, role: str = Role.ACCOUNTANT) -> Membership:
    if role not in Role.values:
        raise ValidationError(
            {"role": [f"unknown role {role!r}; expected one of {', '.join(Role.values)}"]}
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
        raise ValidationError({"code": [e.message]}) from None
    if next_number < 1:
        raise ValidationError({"next_number": ["must be 1 or more"]})
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
