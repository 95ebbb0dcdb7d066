"""Domain errors: each names the field and the reason, so every interface can show it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy


class DomainError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def engine_message(err: Exception) -> ValidationError:
    """A billing-core refusal (``engine.errors.EngineError``) as a coded, translatable error: the
    template is in the catalogue (marked with the engine's ``gettext_noop``), shown in the
    active language with the same values."""
    template = getattr(err, "template", None)
    if template is None:
        return ValidationError(getattr(err, "message", str(err)), code="invalid")
    params = getattr(err, "params", None) or None
    return ValidationError(
        gettext_lazy(template), code=getattr(err, "code", "invalid"), params=params
    )


def as_validation_error(err: Exception) -> ValidationError:
    """An engine error on its field, as Django forms, full_clean and the services raise it."""
    return ValidationError({getattr(err, "field", "__all__"): engine_message(err)})


def messages_of(err: ValidationError) -> list[tuple[str, str]]:
    """Flatten a ValidationError into (field, message) pairs."""
    if hasattr(err, "error_dict"):
        return [(f, m) for f, errs in err.message_dict.items() for m in errs]
    return [("__all__", m) for m in err.messages]


def field_error(field: str, message: Any, code: str, **params: Any) -> ValidationError:
    """A service's error on one field: ``message`` is a gettext_lazy literal with %(name)s
    placeholders, rendered in the language active where it is shown (the user's on screens,
    English in the API and the CLI); ``code`` is stable for clients and tests."""
    return ValidationError({field: ValidationError(message, code=code, params=params or None)})


def details_of(err: ValidationError) -> list[tuple[str, str, str]]:
    """(field, code, message) of every error; code "invalid" where the raiser gave none."""
    if hasattr(err, "error_dict"):
        return [
            (field, e.code or "invalid", m)
            for field, errs in err.error_dict.items()
            for e in errs
            for m in e.messages
        ]
    return [("__all__", e.code or "invalid", m) for e in err.error_list for m in e.messages]


def codes_of(err: ValidationError) -> dict[str, list[str]]:
    """field -> its error codes (what tests and API clients branch on)."""
    out: dict[str, list[str]] = {}
    for field, code, _ in details_of(err):
        out.setdefault(field, []).append(code)
    return out
