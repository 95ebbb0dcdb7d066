"""Provider keys and card tokens at rest: ``recurent.common.crypto`` (one rule for every secret;
the fields are listed in ``recurent.wiring.SECRET_FIELDS`` so that ``rotate-key`` rewrites them)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from recurent.common import crypto


def seal(plain: str) -> str:
    return crypto.encrypt(plain)


def read(token: str) -> str:
    """The stored secret; one that no configured key decrypts must be entered again."""
    try:
        return crypto.decrypt(token)
    except crypto.SecretUnreadable:
        raise ValidationError(
            _(
                "A stored payment provider key cannot be decrypted (the encryption key changed); "
                "enter it again."
            ),
            code="unreadable_secret",
        ) from None
