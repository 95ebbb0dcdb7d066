"""Pay links: a signed Recurent address per invoice, the same ``django.core.signing`` as the
portal links (``recurent.clients.portal_links``), with a salt of its own.

Unlike a portal link it does not expire: it is printed on the PDF (a QR code next to the IBAN)
and the PDF lives as long as the invoice. It shows only what the invoice itself shows (number,
amount left to pay) and can only start a payment of what is left, so a forwarded link lets
someone pay the invoice and nothing else.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "recurent.gateways.pay"


def pay_token(invoice_id: int) -> str:
    return signing.Signer(salt=SALT).sign(str(invoice_id))


def invoice_from_token(token: str) -> int:
    """The invoice id of a valid pay link; raises signing.BadSignature."""
    value = signing.Signer(salt=SALT).unsign(token)
    try:
        return int(value)
    except ValueError:
        raise signing.BadSignature("malformed pay token") from None


def public_base() -> str:
    return getattr(settings, "RECURENT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")


def absolute(path: str) -> str:
    return public_base() + path


def pay_url(invoice_id: int) -> str:
    return absolute(reverse("gateways:pay", kwargs={"token": pay_token(invoice_id)}))
