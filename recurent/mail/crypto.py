"""Encryption of stored SMTP passwords (Fernet: AES-128-CBC + HMAC-SHA256).

Key: ``RECURENT_ENCRYPTION_KEY`` if set (any secret text; several separated by commas to
rotate: the first encrypts, all decrypt), otherwise a key derived from ``SECRET_KEY``
with HKDF. Changing both makes stored passwords unreadable: they must be entered again.
"""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

INFO = b"recurent.mail.smtp-password.v1"


class DecryptionError(Exception):
    pass


def _derive(secret: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def _fernet() -> MultiFernet:
    explicit = [k.strip() for k in os.environ.get("RECURENT_ENCRYPTION_KEY", "").split(",")]
    keys = [_derive(k) for k in explicit if k]
    if settings.SECRET_KEY:
        keys.append(_derive(settings.SECRET_KEY))  # also decrypts what was stored before
    if not keys:
        raise DecryptionError("no encryption key: set RECURENT_ENCRYPTION_KEY or SECRET_KEY")
    return MultiFernet(keys)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise DecryptionError(
            "the stored SMTP password cannot be decrypted (the encryption key changed); "
            "enter the password again"
        ) from None
