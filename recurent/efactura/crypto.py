"""ANAF secrets at rest: the one rule lives in recurent.common.crypto (kept until callers move)."""

from recurent.common.crypto import SecretUnreadable, decrypt, encrypt

__all__ = ["SecretUnreadable", "decrypt", "encrypt"]
