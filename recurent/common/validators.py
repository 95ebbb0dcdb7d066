"""Model field validators that wrap the engine's checks (used by models, forms, import)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from recurent.engine import geo, identifiers, money, vat


def _wrap(fn, value):  # type: ignore[no-untyped-def]
    try:
        fn(value)
    except ValueError as e:
        raise ValidationError(getattr(e, "message", str(e))) from None


def validate_cui(value: str) -> None:
    _wrap(identifiers.clean_cui, value)


def validate_cnp(value: str) -> None:
    _wrap(identifiers.clean_cnp, value)


def validate_iban(value: str) -> None:
    if value:
        _wrap(identifiers.clean_iban, value)


def validate_county(value: str) -> None:
    if value:
        _wrap(geo.clean_county, value)


def validate_currency(value: str) -> None:
    _wrap(money.check_currency, value)


def validate_vat_category(value: str) -> None:
    _wrap(vat.parse_category, value)


def validate_vat_rate_code(value: str) -> None:
    _wrap(vat.parse_rate_code, value)


def validate_positive(value) -> None:  # type: ignore[no-untyped-def]
    if value is not None and value <= 0:
        raise ValidationError(gettext_lazy("must be greater than zero"), code="not_positive")


def validate_not_negative(value) -> None:  # type: ignore[no-untyped-def]
    if value is not None and value < 0:
        raise ValidationError(gettext_lazy("cannot be negative"), code="negative")


def validate_emails(value) -> None:  # type: ignore[no-untyped-def]
    from django.core.validators import validate_email

    if not isinstance(value, list):
        raise ValidationError(gettext_lazy("a list of email addresses"), code="invalid")
    for i, addr in enumerate(value):
        try:
            validate_email(addr)
        except ValidationError:
            raise ValidationError(
                gettext_lazy("email #%(value)s %(addr)s is not a valid address"),
                code="email_invalid",
                params={"value": i + 1, "addr": repr(addr)},
            ) from None
