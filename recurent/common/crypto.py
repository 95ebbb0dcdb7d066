"""Secrets at rest (SMTP passwords, ANAF client secret and tokens, payment-provider keys).

One rule for every stored secret: Fernet (AES-128-CBC + HMAC-SHA256) through ``MultiFernet``.

Keys: ``RECURENT_ENCRYPTION_KEY`` is any secret text, or several separated by commas; the FIRST
encrypts, all of them decrypt. ``SECRET_KEY`` is always the last decrypting key (and the only
key when nothing else is set), so an installation can move from it to an explicit key. Each text
is stretched into a Fernet key with HKDF-SHA256.

Rotating: put the new key first (``RECURENT_ENCRYPTION_KEY=new,old``), run ``recurent
rotate-key`` (every registered secret is decrypted with whichever key reads it and encrypted
with the first), then drop the old key. Losing every key that wrote a secret loses the secret:
the owner enters it again (SMTP password) or reconnects (SPV).

Before this module, mail and e-Factura each derived their own keys (and e-Factura read a
comma-separated value as one key, so rotating locked it out of its tokens). Their two old
derivations still decrypt, so secrets stored before stay readable; ``rotate-key`` rewrites them.

A new kind of secret: encrypt/decrypt with the functions below and add its model and fields to
``SECRET_FIELDS`` in ``recurent/wiring.py`` so that ``rotate-key`` rewrites it too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

INFO = b"recurent.secret.v1"
# Decrypt-only: how mail (HKDF, its own info) and e-Factura (salted SHA-256) derived keys before.
_LEGACY_MAIL_INFO = b"recurent.mail.smtp-password.v1"
_LEGACY_EFACTURA_PREFIX = b"recurent-efactura-v1:"

# model label -> names of its encrypted text fields; filled by recurent.wiring (rotate-key reads it).
SECRET_FIELDS: dict[str, tuple[str, ...]] = {}


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def _hkdf(material: str, info: bytes) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        material.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def _sha256(material: str) -> Fernet:
    digest = hashlib.sha256(_LEGACY_EFACTURA_PREFIX + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def key_materials() -> list[str]:
    """The configured key texts, the encrypting one first."""
    explicit = os.environ.get("RECURENT_ENCRYPTION_KEY", "")
    materials = [k.strip() for k in explicit.split(",") if k.strip()]
    if settings.SECRET_KEY:
        materials.append(settings.SECRET_KEY)
    if not materials:
        raise ImproperlyConfigured("set RECURENT_ENCRYPTION_KEY or SECRET_KEY to store secrets")
    return materials


def _fernet() -> MultiFernet:
    return _multi(tuple(key_materials()), os.environ.get("RECURENT_ENCRYPTION_KEY", ""))


@functools.lru_cache(maxsize=8)
def _multi(materials: tuple[str, ...], whole: str) -> MultiFernet:
    # Cached: deriving the keys costs more than a decryption, and rotate-key reads every row.
    keys = [_hkdf(m, INFO) for m in materials]
    # e-Factura used the whole comma-separated value as one key text.
    for m in dict.fromkeys(x for x in (*materials, whole) if x):
        keys += [_hkdf(m, _LEGACY_MAIL_INFO), _sha256(m)]
    return MultiFernet(keys)


def encrypt(plain: str) -> str:
    """The token to store for ``plain`` (empty stays empty: "no secret stored")."""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with the configured keys "
            "(RECURENT_ENCRYPTION_KEY changed?)"
        ) from None


def reencrypt(token: str) -> str:
    """``token`` encrypted again with the first key (raises SecretUnreadable if no key reads it)."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with the configured keys"
        ) from None


def secrets_reencrypt() -> dict[str, tuple[int, int]]:
    """Every registered secret encrypted again with the first key.

    Returns, per model label, (rows rewritten, rows whose secret no configured key reads: left
    as they are, the owner enters them again). Each row is locked while it is rewritten so that
    a token refreshed at the same moment is not overwritten with the old value.
    """
    from django.apps import apps
    from django.db import transaction

    done: dict[str, tuple[int, int]] = {}
    for label, fields in SECRET_FIELDS.items():
        model = apps.get_model(label)
        rewritten = unreadable = 0
        for pk in list(model._default_manager.values_list("pk", flat=True).order_by("pk")):
            with transaction.atomic():
                row = model._default_manager.select_for_update().filter(pk=pk).first()
                if row is None:
                    continue
                try:
                    values = {f: reencrypt(getattr(row, f)) for f in fields}
                except SecretUnreadable:
                    unreadable += 1
                    continue
                model._default_manager.filter(pk=pk).update(**values)
                rewritten += 1
        done[label] = (rewritten, unreadable)
    return done
