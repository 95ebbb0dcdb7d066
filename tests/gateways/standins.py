"""Local stand-ins for Stripe and NETOPIA on 127.0.0.1, answering as their public API references
document, and recording every call (``calls``) and every charge they made (``charges``).

Stripe: ``POST /v1/checkout/sessions`` (form-encoded, nested keys), a hosted page
``/checkout/<id>`` whose "Pay" makes the PaymentIntent, ``POST /v1/payment_intents``
(``off_session``/``confirm``; the ``Idempotency-Key`` header replays the first answer, as Stripe
does), ``GET /v1/payment_methods/<id>``; events signed ``Stripe-Signature: t=..,v1=HMAC-SHA256``.
NETOPIA v2: ``POST /payment/card/start`` (hosted page when no instrument; a saved-card charge
with ``instrument.token``; a second order with the same ``orderID`` answers "56 Order closed"
with that order's status), a hosted page ``/pay/<ntpID>``; the IPN is signed with a JWT in
``Verification-token`` (RS512, iss "NETOPIA Payments", aud [POS signature], sub base64
SHA-512 of the body).

Notifications are queued in ``outbox`` (body, headers); a test delivers them (with the test
client) or sets ``deliver_to`` to have the stand-in POST them (live server, browser).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [key.split("[", 1)[0]] + [p.rstrip("]") for p in key.split("[")[1:]]
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append({})
                if last:
                    node[idx] = value
                else:
                    if not isinstance(node[idx], (dict, list)) or node[idx] == {}:
                        node[idx] = [] if parts[i + 1].isdigit() else {}
                    node = node[idx]
            else:
                if last:
                    node[part] = value
                else:
                    if part not in node:
                        node[part] = [] if parts[i + 1].isdigit() else {}
                    node = node[part]
    return root


class _Server:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.outbox: list[tuple[bytes, dict[str, str]]] = []
        self.deliver_to = ""  # POST notifications here too (a live server)
        self.hang = threading.Event()  # set: the next charge is made, its answer never sent
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Any:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_id(self) -> int:
        return next(self._ids)

    def notify(self, body: bytes, headers: dict[str, str]) -> None:
        self.outbox.append((body, headers))
        if self.deliver_to:
            req = urllib.request.Request(self.deliver_to, data=body, headers=headers, method="POST")
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except Exception:  # the application answers an error: kept in the outbox anyway
                pass

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: Any, ctype: str = "application/json",
                      extra: dict[str, str] | None = None) -> None:  # fmt: skip
                data = (
                    body
                    if isinstance(body, bytes)
                    else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self) -> None:
                outer.calls.append(
                    {"method": "GET", "path": self.path, "headers": dict(self.headers)}
                )
                outer.route(self, "GET", self.path, b"")

            def do_POST(self) -> None:
                body = self._body()
                outer.calls.append({"method": "POST", "path": self.path, "body": body,
                                    "headers": dict(self.headers)})  # fmt: skip
                outer.route(self, "POST", self.path, body)

        return H

    def route(self, h: Any, method: str, path: str, body: bytes) -> None:  # pragma: no cover
        raise NotImplementedError

    def _hang_if_asked(self) -> None:
        if self.hang.is_set():
            # The charge is made; the answer never leaves (the caller is killed meanwhile).
            time.sleep(3600)


def _page(title: str, action: str, extra: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f'<form method="post" action="{action}">{extra}'
        f'<input name="card" value="4242424242424242" aria-label="card">'
        f'<button type="submit" id="pay">Pay</button></form></body></html>'
    )


class FakeStripe(_Server):
    def __init__(
        self, webhook_secret: str = "whsec_test_secret", api_key: str = "sk_test_123"
    ) -> None:
        super().__init__()
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.methods: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[int, Any]] = {}
        self.behavior: dict[str, str] = {}  # payment method id -> ok | decline | sca
        self.charges: list[dict[str, Any]] = []  # every PaymentIntent that moved money

    # --- events ---------------------------------------------------------------------------
    def sign(self, payload: bytes, t: int | None = None, secret: str | None = None) -> str:
        t = int(time.time()) if t is None else t
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{t}.".encode() + payload,
                       hashlib.sha256).hexdigest()  # fmt: skip
        return f"t={t},v1={mac}"

    def event(
        self, etype: str, obj: dict[str, Any], send: bool = True
    ) -> tuple[bytes, dict[str, str]]:
        ev = {"id": f"evt_{self.next_id()}", "object": "event", "type": etype,
              "api_version": "2025-01-27", "created": int(time.time()),
              "data": {"object": obj}, "livemode": False}  # fmt: skip
        body = json.dumps(ev).encode()
        headers = {"Stripe-Signature": self.sign(body), "Content-Type": "application/json"}
        if send:
            self.notify(body, headers)
        return body, headers

    def _pm(self, customer: str = "", brand: str = "visa", last4: str = "4242",
            exp: tuple[int, int] = (12, 2030)) -> dict[str, Any]:  # fmt: skip
        pm = {"id": f"pm_{self.next_id()}", "object": "payment_method", "type": "card",
              "customer": customer or None,
              "card": {"brand": brand, "last4": last4, "exp_month": exp[0], "exp_year": exp[1]}}  # fmt: skip
        self.methods[pm["id"]] = pm
        return pm

    def saved_card(
        self, behavior: str = "ok", exp: tuple[int, int] = (12, 2030)
    ) -> tuple[str, str]:
        """A customer with a saved card (as if saved earlier): (customer id, payment method id)."""
        cus = f"cus_{self.next_id()}"
        pm = self._pm(cus, exp=exp)
        self.behavior[pm["id"]] = behavior
        return cus, pm["id"]

    def _intent(self, amount: int, currency: str, metadata: dict[str, Any], customer: str,
                pm: str, status: str = "succeeded") -> dict[str, Any]:  # fmt: skip
        pi = {"id": f"pi_{self.next_id()}", "object": "payment_intent", "amount": amount,
              "amount_received": amount if status == "succeeded" else 0, "currency": currency,
              "status": status, "metadata": metadata, "customer": customer or None,
              "payment_method": pm or None, "latest_charge": f"ch_{self.next_id()}"}  # fmt: skip
        self.intents[pi["id"]] = pi
        if status == "succeeded":
            self.charges.append(pi)
        return pi

    def pay_session(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        """The client pays on the hosted page: the PaymentIntent and its event."""
        s = self.sessions[session_id]
        pid = s.get("payment_intent_data") or {}
        item = s["line_items"][0]["price_data"]
        save = pid.get("setup_future_usage") == "off_session"
        customer = f"cus_{self.next_id()}" if save or s.get("customer_creation") == "always" else ""
        pm = self._pm(customer)
        pi = self._intent(int(amount if amount is not None else item["unit_amount"]), item["currency"],
                          pid.get("metadata") or {}, customer, pm["id"])  # fmt: skip
        s.update(status="complete", payment_status="paid", payment_intent=pi["id"])
        self.event("payment_intent.succeeded", pi)
        return pi

    def refund(self, pi_id: str, amount: int | None = None) -> None:
        pi = self.intents[pi_id]
        refunded = pi["amount"] if amount is None else amount
        charge = {"id": pi["latest_charge"], "object": "charge", "amount": pi["amount"],
                  "amount_refunded": refunded, "refunded": refunded == pi["amount"],
                  "currency": pi["currency"], "payment_intent": pi_id}  # fmt: skip
        self.event("charge.refunded", charge)

    # --- HTTP -------------------------------------------------------------------------------
    def route(self, h: Any, method: str, path: str, body: bytes) -> None:
        url = urllib.parse.urlsplit(path)
        if url.path.startswith("/v1/"):
            auth = h.headers.get("Authorization", "")
            if auth != f"Bearer {self.api_key}":
                return h._send(
                    401,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "Invalid API Key provided",
                        }
                    },
                )
        params = unflatten(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        if method == "POST" and url.path == "/v1/checkout/sessions":
            sid = f"cs_test_{self.next_id()}"
            s = {"id": sid, "object": "checkout.session", "url": f"{self.base}/checkout/{sid}",
                 "status": "open", "payment_status": "unpaid", **params}  # fmt: skip
            s["amount_total"] = int(params["line_items"][0]["price_data"]["unit_amount"])
            self.sessions[sid] = s
            return h._send(200, s)
        if url.path.startswith("/checkout/"):
            sid = url.path.split("/")[2]
            s = self.sessions.get(sid)
            if s is None:
                return h._send(404, "no such session", "text/plain")
            if method == "GET":
                return h._send(200, _page(f"Stripe test checkout {sid}", url.path), "text/html")
            self.pay_session(sid)
            return h._send(303, b"", "text/plain", {"Location": s["success_url"]})
        if method == "POST" and url.path == "/v1/payment_intents":
            key = h.headers.get("Idempotency-Key", "")
            with self.lock:
                if key and key in self.idempotent:
                    status, answer = self.idempotent[key]
                    return h._send(status, answer, extra={"Idempotent-Replayed": "true"})
                pm = params.get("payment_method", "")
                behavior = self.behavior.get(pm, "ok")
                meta = params.get("metadata") or {}
                if behavior == "ok":
                    status, answer = 200, self._intent(int(params["amount"]), params["currency"],
                                                       meta, params.get("customer", ""), pm)  # fmt: skip
                else:
                    code = "authentication_required" if behavior == "sca" else "card_declined"
                    pi = self._intent(int(params["amount"]), params["currency"], meta,
                                      params.get("customer", ""), pm, "requires_payment_method")  # fmt: skip
                    status, answer = 402, {"error": {
                        "type": "card_error", "code": code,
                        "decline_code": "authentication_required" if behavior == "sca" else "insufficient_funds",
                        "message": "Your card was declined.", "payment_intent": pi}}  # fmt: skip
                if key:
                    self.idempotent[key] = (status, answer)
            self._hang_if_asked()
            return h._send(status, answer)
        if method == "GET" and url.path.startswith("/v1/payment_methods/"):
            pm = self.methods.get(url.path.rsplit("/", 1)[1])
            if pm is None:
                return h._send(
                    404,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "No such PaymentMethod",
                        }
                    },
                )
            return h._send(200, pm)
        return h._send(
            404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}
        )


class FakeNetopia(_Server):
    def __init__(self, api_key: str = "ntp-api-key", pos_signature: str = "XXXX-TEST-POS") -> None:
        super().__init__()
        self.api_key = api_key
        self.pos_signature = pos_signature
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.orders: dict[str, dict[str, Any]] = {}  # orderID -> order with its payment
        self.by_ntp: dict[str, dict[str, Any]] = {}
        self.behavior: dict[str, str] = {}  # token -> ok | decline | sca
        self.charges: list[dict[str, Any]] = []

    def sign(self, body: bytes, key: Any = None, aud: str | None = None) -> str:
        digest = base64.b64encode(hashlib.sha512(body).digest()).decode()
        claims = {"iss": "NETOPIA Payments", "aud": [aud or self.pos_signature], "sub": digest,
                  "iat": int(time.time()), "nbf": int(time.time()), "exp": int(time.time()) + 300}  # fmt: skip
        pem = (key or self._key).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return jwt.encode(claims, pem, algorithm="RS512")

    def ipn(self, order: dict[str, Any], status: int, send: bool = True,
            amount: float | None = None) -> tuple[bytes, dict[str, str]]:  # fmt: skip
        p = order["payment"]
        payment = {"method": "card", "ntpID": p["ntpID"], "status": status,
                   "amount": p["amount"] if amount is None else amount, "currency": p["currency"],
                   "token": p.get("token", ""),
                   "instrument": {"country": 642, "panMasked": "4****5098", "expMonth": 12, "expYear": 2030},
                   "data": {"AuthCode": "Az9f", "RRN": "hYnY8zpdcNo-"}}  # fmt: skip
        body = json.dumps({"order": {"orderID": order["orderID"]}, "payment": payment}).encode()
        headers = {"Verification-token": self.sign(body), "Content-Type": "application/json"}
        if send:
            self.notify(body, headers)
        return body, headers

    def pay(self, ntp_id: str, save_token: bool = True) -> dict[str, Any]:
        order = self.by_ntp[ntp_id]
        order["payment"]["status"] = 3
        if save_token:
            order["payment"]["token"] = f"tok_{self.next_id()}"
            self.behavior[order["payment"]["token"]] = "ok"
        self.charges.append(order)
        self.ipn(order, 3)
        return order

    def refund(self, ntp_id: str) -> None:
        order = self.by_ntp[ntp_id]
        order["payment"]["status"] = 8
        self.ipn(order, 8)

    def route(self, h: Any, method: str, path: str, body: bytes) -> None:
        url = urllib.parse.urlsplit(path)
        if method == "POST" and url.path == "/payment/card/start":
            if h.headers.get("Authorization") != self.api_key:
                return h._send(401, {"code": "401", "message": "Invalid API key"})
            req = json.loads(body)
            o, cfg = req["order"], req["config"]
            with self.lock:
                if o["orderID"] in self.orders:
                    prev = self.orders[o["orderID"]]
                    return h._send(
                        200,
                        {
                            "customerAction": {},
                            "error": {"code": "56", "message": "Order closed"},
                            "payment": {
                                k: prev["payment"][k]
                                for k in ("amount", "currency", "ntpID", "status")
                            },
                        },
                    )
                ntp = str(1309000 + self.next_id())
                order = {"orderID": o["orderID"], "amount": o["amount"], "currency": o["currency"],
                         "notifyUrl": cfg["notifyUrl"], "redirectUrl": cfg["redirectUrl"],
                         "payment": {"ntpID": ntp, "status": 1, "amount": o["amount"], "currency": o["currency"]}}  # fmt: skip
                self.orders[o["orderID"]] = order
                self.by_ntp[ntp] = order
                instrument = (req.get("payment") or {}).get("instrument")
                if not instrument or not instrument.get("token"):
                    order["payment"]["paymentURL"] = f"{self.base}/pay/{ntp}"
                    answer = {"customerAction": {}, "error": {"code": "101", "message": "Redirect user to payment page"},
                              "payment": {"method": "card", "allowedMethods": ["card"], **order["payment"]}}  # fmt: skip
                    return h._send(200, answer)
                behavior = self.behavior.get(instrument["token"], "decline")
                if behavior == "ok":
                    order["payment"]["status"] = 3
                    order["payment"]["token"] = instrument["token"]
                    self.charges.append(order)
                    answer = {"customerAction": {}, "error": {"code": "00", "message": "Approved"},
                              "payment": dict(order["payment"])}  # fmt: skip
                elif behavior == "sca":
                    order["payment"]["status"] = 15
                    answer = {"customerAction": {"type": "Authentication3D", "url": f"{self.base}/3ds/{ntp}",
                                                 "authenticationToken": "tok3ds", "formData": {"paReq": "x"}},
                              "error": {"code": "100", "message": "Approved"}, "payment": dict(order["payment"])}  # fmt: skip
                else:
                    order["payment"]["status"] = 12
                    answer = {"customerAction": {}, "error": {"code": "19", "message": "Card declined"},
                              "payment": dict(order["payment"])}  # fmt: skip
            self._hang_if_asked()
            return h._send(200, answer)
        if url.path.startswith("/pay/"):
            ntp = url.path.split("/")[2]
            order = self.by_ntp.get(ntp)
            if order is None:
                return h._send(404, "no such order", "text/plain")
            if method == "GET":
                return h._send(200, _page(f"NETOPIA sandbox {ntp}", url.path), "text/html")
            self.pay(ntp)
            return h._send(303, b"", "text/plain", {"Location": order["redirectUrl"]})
        return h._send(404, {"code": "404", "message": f"no route {path}"})
