"""Secrets at rest: one rule for SMTP passwords and ANAF tokens, and the key can be rotated."""

from __future__ import annotations

import base64
import hashlib
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.management import call_command

from recurent.common import crypto
from recurent.efactura.models import SpvConnection
from recurent.mail.services import smtp_password, smtp_settings_save

pytestmark = pytest.mark.django_db


def _secrets(world):  # type: ignore[no-untyped-def]
    smtp = smtp_settings_save(
        company=world.company, host="smtp.example.ro", from_email="a@b.ro", password="parolă-smtp"
    )
    spv = SpvConnection(company=world.company, client_id="cid")
    spv.client_secret = "secret-anaf"
    spv.access_token_enc = crypto.encrypt("access-1")
    spv.refresh_token_enc = crypto.encrypt("refresh-1")
    spv.save()
    return smtp, spv


def _read_all(smtp, spv):  # type: ignore[no-untyped-def]
    smtp.refresh_from_db()
    spv.refresh_from_db()
    return smtp_password(smtp), spv.client_secret, spv.access_token, spv.refresh_token


EXPECTED = ("parolă-smtp", "secret-anaf", "access-1", "refresh-1")


def test_a_rotated_key_reads_both_kinds_of_secrets_and_rotate_key_rewrites_them(world, monkeypatch):
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "old key")
    smtp, spv = _secrets(world)
    tokens_before = (smtp.password_encrypted, spv.access_token_enc)

    # Given a new key put first, the old one second: everything stored still reads.
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "new key, old key")
    assert _read_all(smtp, spv) == EXPECTED

    out = StringIO()
    call_command("rotate-key", stdout=out)
    assert "mail.SmtpSettings: 1 re-encrypted" in out.getvalue()
    assert "efactura.SpvConnection: 1 re-encrypted" in out.getvalue()
    smtp.refresh_from_db()
    spv.refresh_from_db()
    assert (smtp.password_encrypted, spv.access_token_enc) != tokens_before

    # Then the old key and the old SECRET_KEY can go: the new key alone reads everything.
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "new key")
    monkeypatch.setattr("django.conf.settings.SECRET_KEY", "a different secret")
    assert _read_all(smtp, spv) == EXPECTED


def test_without_rotate_key_dropping_the_old_key_loses_the_secrets(world, monkeypatch):
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "old key")
    smtp, spv = _secrets(world)
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "new key")
    monkeypatch.setattr("django.conf.settings.SECRET_KEY", "a different secret")
    with pytest.raises(crypto.SecretUnreadable):
        _read_all(smtp, spv)
    err = StringIO()
    call_command("rotate-key", stdout=StringIO(), stderr=err)
    assert "2 secret(s) could not be read" in err.getvalue()


def test_the_first_key_encrypts(monkeypatch):
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "first,second")
    token = crypto.encrypt("x")
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "first")
    monkeypatch.setattr("django.conf.settings.SECRET_KEY", "a different secret")
    assert crypto.decrypt(token) == "x"


def test_secrets_stored_by_the_old_mail_and_efactura_rules_still_read(monkeypatch):
    # What mail/crypto.py and efactura/crypto.py wrote before they shared this module.
    monkeypatch.setenv("RECURENT_ENCRYPTION_KEY", "k1,k2")
    hk = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=crypto._LEGACY_MAIL_INFO)
    mail_key = Fernet(base64.urlsafe_b64encode(hk.derive(b"k2")))
    efactura_key = Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(b"recurent-efactura-v1:k1,k2").digest())
    )
    assert crypto.decrypt(mail_key.encrypt(b"smtp").decode()) == "smtp"
    assert crypto.decrypt(efactura_key.encrypt(b"anaf").decode()) == "anaf"
