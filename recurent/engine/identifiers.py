"""Romanian identifiers (CUI/CIF, CNP) and IBAN, validated with python-stdnum."""

from __future__ import annotations

from stdnum import iban as std_iban
from stdnum.exceptions import ValidationError
from stdnum.ro import cf as std_cf
from stdnum.ro import cnp as std_cnp
from stdnum.ro import cui as std_cui

from .errors import EngineError, gettext_noop


class IdentifierError(EngineError):
    """A value the billing core refuses (see errors.EngineError)."""


def clean_cui(value: str, field: str = "cui") -> str:
    """A CUI/CIF, optionally with ``RO``; returned compact (``RO18547290`` or ``18547290``)."""
    raw = (value or "").strip().upper().replace(" ", "")
    vat = raw.startswith("RO")
    digits = raw[2:] if vat else raw
    if not digits.isdigit() or not 2 <= len(digits) <= 10:
        raise IdentifierError(
            field,
            gettext_noop("%(value)s is not a CUI/CIF (2-10 digits, optional RO prefix)"),
            "not_a_cui",
            value=repr(value),
        )
    try:
        std_cui.validate(digits)
    except ValidationError:
        raise IdentifierError(
            field,
            gettext_noop("%(value)s fails the CUI/CIF check digit"),
            "cui_check_digit",
            value=repr(value),
        ) from None
    return ("RO" if vat else "") + digits


def clean_cnp(value: str, field: str = "cnp") -> str:
    raw = (value or "").strip().replace(" ", "")
    try:
        return std_cnp.validate(raw)
    except ValidationError as e:
        raise IdentifierError(
            field,
            gettext_noop("%(value)s is not a valid CNP (%(reason)s)"),
            "not_valid_cnp",
            value=repr(value),
            reason=getattr(e, "message", e),
        ) from None


def clean_tax_id(value: str, field: str = "tax_id") -> str:
    """A CUI/CIF or a CNP, as ``stdnum.ro.cf`` accepts either."""
    raw = (value or "").strip().upper().replace(" ", "")
    if len(raw.removeprefix("RO")) == 13:
        return clean_cnp(raw.removeprefix("RO"), field)
    try:
        std_cf.validate(raw)
    except ValidationError:
        pass
    return clean_cui(raw, field)


def clean_iban(value: str, field: str = "iban") -> str:
    raw = (value or "").strip().upper().replace(" ", "")
    try:
        return std_iban.validate(raw)
    except ValidationError as e:
        raise IdentifierError(
            field,
            gettext_noop("%(value)s is not a valid IBAN (%(reason)s)"),
            "not_valid_iban",
            value=repr(value),
            reason=getattr(e, "message", e),
        ) from None


def format_iban(value: str) -> str:
    return std_iban.format(value)
