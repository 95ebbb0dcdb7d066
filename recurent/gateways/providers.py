"""The provider interface and its two implementations (official SDKs: ``stripe``, ``netopia-sdk``).

A provider does three things, with no database access of its own:
- ``start``: open a hosted payment page for an amount (the client types the card there);
- ``charge``: charge a saved card without the cardholder (merchant-initiated, off session),
  with an idempotency key: the same key asks for the same charge, never a second one;
- ``verify``: check a notification's signature and read it into a ``Notice``.

Stripe: Checkout Sessions for the hosted page, PaymentIntents with ``off_session=true,
confirm=true`` for automatic charges (``Idempotency-Key`` header), webhooks signed with the
``Stripe-Signature`` header (``t=<unix time>,v1=<HMAC-SHA256 of "t.body">``).
NETOPIA (API v2): ``/payment/card/start`` for both (a saved card goes as ``instrument.token``;
the order id is the idempotency key: NETOPIA refuses a second order with the same id), IPN
signed by a JWT in the ``Verification-token`` header (RS512 with NETOPIA's key, audience the
POS signature, subject the base64 SHA-512 of the body), checked by the SDK's ``IpnVerifier``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import jwt

from recurent.engine.money import round_money

from . import secrets
from .models import GatewayAccount, Provider

STRIPE_API = "https://api.stripe.com"
TIMEOUT = 30  # seconds, per call


class GatewayError(Exception):
    """The provider could not be reached or answered an error that is worth trying again."""


class Forged(Exception):
    """A notification whose signature does not check out."""


@dataclass(frozen=True)
class Checkout:
    url: str  # the provider's hosted page
    provider_ref: str


@dataclass(frozen=True)
class Card:
    token: str
    customer_ref: str = ""
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class ChargeResult:
    outcome: str  # succeeded | needs_action | declined
    provider_ref: str = ""
    amount: Decimal | None = None
    currency: str = ""
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Notice:
    """A verified notification. ``kind``: paid | failed | refunded | ignored."""

    event_id: str
    kind: str
    type: str  # the provider's own name of the event
    reference: str = ""  # our PaySession reference or ChargeAttempt key
    provider_ref: str = ""  # the provider's payment id
    amount: Decimal | None = None
    currency: str = ""
    refunded: Decimal | None = None
    card: Card | None = None
    card_ref: str = ""  # Stripe: a payment method to read the card of
    customer_ref: str = ""
    message: str = ""
    payload: dict[str, Any] | None = None


class Gateway(Protocol):
    def start(self, *, reference: str, amount: Decimal, currency: str, description: str,
              email: str, name: str, save_card: bool, return_url: str, cancel_url: str,
              notify_url: str, idempotency_key: str) -> Checkout: ...  # fmt: skip

    def charge(self, *, key: str, amount: Decimal, currency: str, description: str,
               token: str, customer_ref: str, email: str, notify_url: str,
               return_url: str) -> ChargeResult: ...  # fmt: skip

    def verify(self, *, body: bytes, headers: Any) -> Notice: ...

    def card(self, ref: str) -> Card: ...

    def answer(self, ok: bool) -> tuple[str, str]: ...  # (body, content type) to the notifier


def minor(amount: Decimal) -> int:
    """2-decimal currencies (RON, EUR, USD…): 12.34 -> 1234."""
    return int(round_money(amount) * 100)


def _brand_of_pan(pan: str) -> str:
    first = pan[:1]
    return {"4": "visa", "5": "mastercard", "2": "mastercard", "3": "amex"}.get(first, "")


# --- Stripe --------------------------------------------------------------------------------


class StripeGateway:
    def __init__(self, account: GatewayAccount) -> None:
        import stripe

        self.account = account
        self.secret = secrets.read(account.secret_encrypted)
        self.webhook_secret = secrets.read(account.webhook_secret_encrypted)
        self.client = stripe.StripeClient(
            self.secret or "sk_test_missing",
            base_addresses={"api": (account.api_base or STRIPE_API).rstrip("/")},
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
            max_network_retries=0,  # our outbox retries, with the same idempotency key
        )

    def _call(self, fn: Any, params: dict[str, Any], key: str = "") -> Any:
        import stripe

        try:
            return fn(params, options={"idempotency_key": key} if key else {})
        except (stripe.APIConnectionError, stripe.RateLimitError) as e:
            raise GatewayError(str(e)) from e
        except stripe.APIError as e:
            raise GatewayError(str(e)) from e

    def start(self, *, reference: str, amount: Decimal, currency: str, description: str,
              email: str, name: str, save_card: bool, return_url: str, cancel_url: str,
              notify_url: str, idempotency_key: str) -> Checkout:  # fmt: skip
        import stripe

        meta = {"recurent_ref": reference}
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": reference,
            "success_url": return_url,
            "cancel_url": cancel_url,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": minor(amount),
                        "product_data": {"name": description[:250]},
                    },
                }
            ],
            "metadata": meta,
            "payment_intent_data": {"metadata": meta},
        }
        if email:
            params["customer_email"] = email
        if save_card:
            # The card is kept for charges without the cardholder, with the agreement shown first.
            params["customer_creation"] = "always"
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        try:
            s = self._call(self.client.v1.checkout.sessions.create, params, idempotency_key)
        except stripe.StripeError as e:
            raise GatewayError(str(e)) from e
        return Checkout(url=s.url, provider_ref=s.id)

    def charge(self, *, key: str, amount: Decimal, currency: str, description: str,
               token: str, customer_ref: str, email: str, notify_url: str,
               return_url: str) -> ChargeResult:  # fmt: skip
        import stripe

        params = {
            "amount": minor(amount),
            "currency": currency.lower(),
            "customer": customer_ref,
            "payment_method": token,
            "off_session": True,
            "confirm": True,
            "description": description[:250],
            "metadata": {"recurent_ref": key},
        }
        try:
            pi = self._call(self.client.v1.payment_intents.create, params, key)
        except stripe.CardError as e:
            err = e.error
            pi_obj = getattr(err, "payment_intent", None) if err else None
            code = (err.code if err else "") or ""
            ref = str(getattr(pi_obj, "id", "") or "") if pi_obj else ""
            if code == "authentication_required":
                return ChargeResult(
                    "needs_action", ref, code=code, message=str(e.user_message or "")
                )
            decline = (err.decline_code if err else "") or code
            return ChargeResult("declined", ref, code=decline, message=str(e.user_message or ""))
        except stripe.InvalidRequestError as e:
            return ChargeResult("declined", code=e.code or "invalid_request", message=str(e))
        if pi.status == "succeeded":
            return ChargeResult(
                "succeeded", pi.id, Decimal(pi.amount_received or pi.amount) / 100,
                pi.currency.upper(),
            )  # fmt: skip
        if pi.status in ("requires_action", "requires_confirmation"):
            return ChargeResult("needs_action", pi.id, code=pi.status)
        if pi.status == "processing":
            raise GatewayError(f"payment intent {pi.id} still processing")
        return ChargeResult("declined", pi.id, code=pi.status)

    def verify(self, *, body: bytes, headers: Any) -> Notice:
        import stripe

        sig = headers.get("Stripe-Signature", "")
        try:
            stripe.WebhookSignature.verify_header(
                body, sig, self.webhook_secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
            )
        except stripe.SignatureVerificationError as e:
            raise Forged(str(e)) from None
        event = json.loads(body)
        etype = event.get("type", "")
        obj = (event.get("data") or {}).get("object") or {}
        meta = obj.get("metadata") or {}
        base = {"event_id": event.get("id", ""), "type": etype, "payload": event}
        if etype == "payment_intent.succeeded":
            return Notice(
                kind="paid", reference=meta.get("recurent_ref", ""), provider_ref=obj.get("id", ""),
                amount=Decimal(obj.get("amount_received") or obj.get("amount") or 0) / 100,
                currency=str(obj.get("currency", "")).upper(),
                card_ref=obj.get("payment_method") or "", customer_ref=obj.get("customer") or "",
                **base,
            )  # fmt: skip
        if etype == "payment_intent.payment_failed":
            err = obj.get("last_payment_error") or {}
            return Notice(
                kind="failed", reference=meta.get("recurent_ref", ""),
                provider_ref=obj.get("id", ""), message=err.get("decline_code") or err.get("code") or "",
                **base,
            )  # fmt: skip
        if etype == "charge.refunded":
            return Notice(
                kind="refunded", provider_ref=obj.get("payment_intent") or "",
                amount=Decimal(obj.get("amount") or 0) / 100,
                refunded=Decimal(obj.get("amount_refunded") or 0) / 100,
                currency=str(obj.get("currency", "")).upper(), **base,
            )  # fmt: skip
        return Notice(kind="ignored", **base)

    def card(self, ref: str) -> Card:
        import stripe

        try:
            pm = self.client.v1.payment_methods.retrieve(ref)
        except stripe.StripeError as e:
            raise GatewayError(str(e)) from e
        c = pm.card
        return Card(
            token=pm.id, customer_ref=str(getattr(pm.customer, "id", pm.customer) or ""), brand=c.brand if c else "",
            last4=c.last4 if c else "", exp_month=c.exp_month if c else None,
            exp_year=c.exp_year if c else None,
        )  # fmt: skip

    def answer(self, ok: bool) -> tuple[str, str]:
        return json.dumps({"received": ok}), "application/json"


# --- NETOPIA -------------------------------------------------------------------------------

NTP_PAID = (3, 5)  # paid, confirmed
NTP_REFUND = (8,)  # credit: refunded
NTP_FAILED = (4, 11, 12)  # cancelled, error, declined
NTP_ACTION = (15,)  # 3-D Secure needed
IPN_ALG = "RS512"  # how NETOPIA signs its IPN (the SDK's default)


def _quiet_netopia_sdk() -> None:
    # The SDK logs every request body at DEBUG to its own stderr handler: card tokens included.
    import logging

    from netopia_sdk.logger import logger

    logger.setLevel(logging.WARNING)


class NetopiaGateway:
    def __init__(self, account: GatewayAccount) -> None:
        _quiet_netopia_sdk()
        self.account = account
        self.api_key = secrets.read(account.secret_encrypted)

    def _service(self, notify_url: str, return_url: str) -> Any:
        from netopia_sdk.client import PaymentClient
        from netopia_sdk.config import Config
        from netopia_sdk.payment import PaymentService

        base = self.account.api_base.rstrip("/")

        class _Config(Config):
            # The SDK derives its address from is_live; a configured one (proxy, stand-in) wins.
            @property
            def base_url(self) -> str:
                return base or Config.base_url.fget(self)  # type: ignore[attr-defined]

        config = _Config(
            api_key=self.api_key or "missing", pos_signature=self.account.pos_signature or "missing",
            is_live=not self.account.test_mode, notify_url=notify_url, redirect_url=return_url,
            public_key_str=self.account.public_key or "missing",
            pos_signature_set=[self.account.pos_signature or "missing"],
        )  # fmt: skip
        return PaymentService(PaymentClient(config))

    def _start(self, service: Any, *, reference: str, amount: Decimal, currency: str,
               description: str, email: str, name: str, token: str) -> Any:  # fmt: skip
        import requests
        from netopia_sdk.requests.models import (
            BillingData,
            ConfigData,
            Instrument,
            OrderData,
            PaymentData,
            PaymentOptions,
            ProductsData,
            ShippingData,
            StartPaymentRequest,
        )

        from recurent.common import clock

        first, _, last = (name or "-").partition(" ")
        party = {"email": email, "phone": "", "firstName": first[:50], "lastName": (last or first)[:50],
                 "city": "", "country": 642, "countryName": "Romania", "state": "",
                 "postalCode": "", "details": ""}  # fmt: skip
        instrument = (
            Instrument(
                type="card",
                account="",
                expMonth=0,
                expYear=0,
                secretCode="",
                token=token,
                clientID="",
            )  # fmt: skip
            if token
            else None
        )
        request = StartPaymentRequest(
            config=ConfigData(
                emailTemplate="",
                emailSubject="",
                cancelUrl="",
                notifyUrl="",
                redirectUrl="",
                language="ro",
            ),  # fmt: skip
            payment=PaymentData(
                options=PaymentOptions(installments=0, bonus=0), instrument=instrument, data={}
            ),  # fmt: skip
            order=OrderData(
                ntpID=None,
                posSignature=None,
                dateTime=clock.now().isoformat(),
                orderID=reference,
                description=description[:250],
                amount=float(amount),
                currency=currency,
                billing=BillingData(**party),
                shipping=ShippingData(**party),
                products=[
                    ProductsData(
                        name=description[:100],
                        code=reference,
                        category="invoice",
                        price=float(amount),
                        vat=0,
                    )
                ],
                installments={"selected": 0, "available": [0]},
                data={},
            ),  # fmt: skip
        )
        try:
            return service.start_payment(request)
        except requests.RequestException as e:
            raise GatewayError(str(e)) from e

    def start(self, *, reference: str, amount: Decimal, currency: str, description: str,
              email: str, name: str, save_card: bool, return_url: str, cancel_url: str,
              notify_url: str, idempotency_key: str) -> Checkout:  # fmt: skip
        r = self._start(self._service(notify_url, return_url), reference=reference, amount=amount,
                        currency=currency, description=description, email=email, name=name,
                        token="")  # fmt: skip
        payment = r.payment or {}
        url = payment.get("paymentURL") if isinstance(payment, dict) else None
        if not url:
            raise GatewayError(f"NETOPIA gave no payment page: {r.error or r.message}")
        return Checkout(url=url, provider_ref=str(payment.get("ntpID") or ""))

    def charge(self, *, key: str, amount: Decimal, currency: str, description: str,
               token: str, customer_ref: str, email: str, notify_url: str,
               return_url: str) -> ChargeResult:  # fmt: skip
        r = self._start(self._service(notify_url, return_url), reference=key, amount=amount,
                        currency=currency, description=description, email=email, name="",
                        token=token)  # fmt: skip
        payment = r.payment if isinstance(r.payment, dict) else {}
        error = r.error if isinstance(r.error, dict) else {}
        status = int(payment.get("status") or 0)
        ref = str(payment.get("ntpID") or "")
        code = str(error.get("code") or "")
        if status in NTP_PAID:
            return ChargeResult("succeeded", ref, Decimal(str(payment.get("amount"))),
                                str(payment.get("currency") or currency))  # fmt: skip
        if status in NTP_ACTION or r.customerAction:
            return ChargeResult("needs_action", ref, code=code or "3ds")
        return ChargeResult("declined", ref, code=code or str(status),
                            message=str(error.get("message") or ""))  # fmt: skip

    def verify(self, *, body: bytes, headers: Any) -> Notice:
        from netopia_sdk.errors import MissingVerificationTokenError, WrongVerificationTokenError
        from netopia_sdk.ipn import IpnVerifier

        verifier = IpnVerifier(
            pos_signature=self.account.pos_signature,
            pos_signature_set=[self.account.pos_signature],
            public_key_str=self.account.public_key,
        )
        if not self.account.public_key.strip():
            # The SDK accepts anything without a key; we never do.
            raise Forged("no NETOPIA public key configured")
        token = headers.get("Verification-token", "")
        try:
            # The SDK takes the algorithm from the token's own header: one of the sender's
            # choosing ("HS256" keyed with the public key, "none") must never get that far.
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as e:
            raise Forged(f"unreadable verification token: {e}") from None
        if alg != IPN_ALG:
            raise Forged(f"verification token signed with {alg!r}, not {IPN_ALG}")
        try:
            out = verifier.verify(verification_token=token, raw_data=body.decode("utf-8"))
        except (MissingVerificationTokenError, WrongVerificationTokenError, UnicodeDecodeError,
                jwt.PyJWTError) as e:  # fmt: skip
            raise Forged(str(e)) from None
        if out.errorType != 0:
            raise Forged(out.errorMessage or "verification failed")
        ipn = json.loads(body)
        order, payment = ipn.get("order") or {}, ipn.get("payment") or {}
        status = int(payment.get("status") or 0)
        ntp = str(payment.get("ntpID") or "")
        base = {"event_id": f"{ntp}:{status}", "type": f"status {status}", "payload": ipn,
                "reference": str(order.get("orderID") or ""), "provider_ref": ntp,
                "amount": Decimal(str(payment.get("amount") or 0)),
                "currency": str(payment.get("currency") or "")}  # fmt: skip
        if status in NTP_PAID:
            card = None
            if payment.get("token"):
                ins = payment.get("instrument") or {}
                pan = str(ins.get("panMasked") or "")
                card = Card(
                    token=str(payment["token"]), brand=_brand_of_pan(pan), last4=pan[-4:],
                    exp_month=ins.get("expMonth"), exp_year=ins.get("expYear"),
                )  # fmt: skip
            return Notice(kind="paid", card=card, **base)  # type: ignore[arg-type]
        if status in NTP_REFUND:
            return Notice(kind="refunded", refunded=base["amount"], **base)  # type: ignore[arg-type]
        if status in NTP_FAILED:
            return Notice(kind="failed", message=str(payment.get("message") or status), **base)  # type: ignore[arg-type]
        return Notice(kind="ignored", **base)  # type: ignore[arg-type]

    def card(self, ref: str) -> Card:
        raise GatewayError("NETOPIA sends the card with the payment")

    def answer(self, ok: bool) -> tuple[str, str]:
        # NETOPIA's IPN answer: errorType 0 (none) accepts it; 1 (temporary) asks it to resend.
        body = {"errorType": 0 if ok else 1, "errorCode": None if ok else 1, "errorMessage": ""}
        return json.dumps(body), "application/json"


def gateway(account: GatewayAccount) -> Gateway:
    if account.provider == Provider.STRIPE:
        return StripeGateway(account)
    return NetopiaGateway(account)
