"""The billing core's refusals: the field, an English template, a stable code and the values.

The core imports no Django, so it cannot translate; it marks each template with
``gettext_noop`` (a no-op here, a keyword for ``makemessages``) so that the catalogue has it, and
the Django side (``recurent.common.errors.engine_error``) shows it in the user's language with
the same code and values.
"""

from __future__ import annotations

from typing import Any


def gettext_noop(message: str) -> str:
    """Marks an English template for the translation catalogue; returns it unchanged."""
    return message


class EngineError(ValueError):
    def __init__(self, field: str, message: str, code: str = "invalid", **params: Any) -> None:
        self.field = field
        self.template = message
        self.code = code
        self.params = params
        self.message = message % params if params else message
        super().__init__(f"{field}: {self.message}")
