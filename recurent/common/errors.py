"""Domain errors: each names the field and the reason, so every interface can show it."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DomainError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def as_validation_error(err: Exception) -> ValidationError:
    """Engine errors carry ``field`` and ``message``; Django forms and full_clean want this."""
    field = getattr(err, "field", "__all__")
    message = getattr(err, "message", str(err))
    return ValidationError({field: [message]})


def messages_of(err: ValidationError) -> list[tuple[str, str]]:
    """Flatten a ValidationError into (field, message) pairs."""
    if hasattr(err, "error_dict"):
        return [(f, m) for f, errs in err.message_dict.items() for m in errs]
    return [("__all__", m) for m in err.messages]
