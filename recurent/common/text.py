"""Names that can be seen: a client, product, company or user name made only of spaces,
zero-width characters or bidirectional controls looks empty on an invoice, a list or an export
while passing a "required" check, and lets two records look alike.

Invisible here: Unicode separators (Z*: spaces of every width), format characters (Cf: zero-width
space and joiners, the byte order mark, the bidirectional embeddings, overrides and isolates),
control characters (Cc), and the blank-looking letters and symbols that fonts draw as nothing
(Hangul fillers, the braille blank).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_invisible(ch: str) -> bool:
    return ch in BLANK_LOOKING or unicodedata.category(ch)[0] in {"Z", "C"}


def has_visible_text(value: str) -> bool:
    return any(not is_invisible(ch) for ch in value)


def invisible_name_errors(names: Mapping[str, Any]) -> dict[str, list[ValidationError]]:
    """The fields (name -> value) that hold text but nothing visible; empty ones are left to
    the field's own "required" check."""
    errors: dict[str, list[ValidationError]] = {}
    for name, value in names.items():
        if isinstance(value, str) and value and not has_visible_text(value):
            errors[name] = [
                ValidationError(
                    gettext_lazy(
                        "only spaces or invisible characters: write a name that can be read"
                    ),
                    code="invisible",
                )
            ]
    return errors
