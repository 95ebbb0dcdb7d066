"""Stored SMTP passwords: the one rule lives in recurent.common.crypto (kept until callers move)."""

from __future__ import annotations

from recurent.common import crypto as _common
from recurent.common.crypto import encrypt

__all__ = ["DecryptionError", "decrypt", "encrypt"]


class DecryptionError(_common.SecretUnreadable):
    pass


def decrypt(token: str) -> str:
    try:
        return _common.decrypt(token)
    except _common.SecretUnreadable:
        raise DecryptionError(
            "the stored SMTP password cannot be decrypted (the encryption key changed); "
            "enter the password again"
        ) from None
