"""ANAF's OAuth2 authorisation-code flow (logincert.anaf.ro/anaf-oauth2/v1/...).

The client authenticates with HTTP Basic; ``token_content_type=jwt`` asks for JWT tokens,
which the e-Factura API requires. Refreshing rotates both tokens: the old refresh token
is dead as soon as ANAF answers, so the caller must store the new pair before anything else.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta

from .http import AnafError, AnafMalformed, AnafUnauthorized, request


class OAuthRefused(AnafError):
    """ANAF refused the grant (revoked/expired refresh token, bad code, bad client)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime

    def __repr__(self) -> str:  # never print tokens
        return f"Tokens(access until {self.access_expires_at:%Y-%m-%d %H:%M})"


def authorize_url(*, login_base: str, client_id: str, redirect_uri: str, state: str) -> str:
    q = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "token_content_type": "jwt",
            "state": state,
        }
    )
    return f"{login_base.rstrip('/')}/authorize?{q}"


def _token_call(
    *,
    login_base: str,
    client_id: str,
    client_secret: str,
    form: dict[str, str],
    as_of: datetime,
    refresh_lifetime: timedelta,
    timeout: float,
) -> Tokens:
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    body = urllib.parse.urlencode({**form, "token_content_type": "jwt"}).encode()
    try:
        resp = request(
            "POST",
            f"{login_base.rstrip('/')}/token",
            body=body,
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            timeout=timeout,
        )
    except AnafUnauthorized:
        raise OAuthRefused("invalid_client", "ANAF refused the client id/secret") from None
    try:
        data = json.loads(resp.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AnafMalformed(
            f"token: HTTP {resp.status}, not JSON; starts with {resp.body[:60]!r}"
        ) from None
    if not isinstance(data, dict):
        raise AnafMalformed(f"token: HTTP {resp.status}, JSON is not an object")
    if resp.status >= 400 or "error" in data:
        raise OAuthRefused(
            str(data.get("error", f"HTTP {resp.status}")), str(data.get("error_description", ""))
        )
    missing = [k for k in ("access_token", "refresh_token") if not data.get(k)]
    if missing:
        raise AnafMalformed(f"token: answer lacks {', '.join(missing)}")
    try:
        expires_in = int(data.get("expires_in", 0))
    except (TypeError, ValueError):
        raise AnafMalformed(
            f"token: expires_in {data.get('expires_in')!r} is not a number"
        ) from None
    if expires_in <= 0:
        raise AnafMalformed("token: expires_in missing or not positive")
    return Tokens(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        access_expires_at=as_of + timedelta(seconds=expires_in),
        refresh_expires_at=as_of + refresh_lifetime,
    )


def exchange_code(
    *,
    login_base: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    as_of: datetime,
    refresh_lifetime: timedelta = timedelta(days=365),
    timeout: float = 30.0,
) -> Tokens:
    return _token_call(
        login_base=login_base, client_id=client_id, client_secret=client_secret,
        form={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        as_of=as_of, refresh_lifetime=refresh_lifetime, timeout=timeout,
    )  # fmt: skip


def refresh(
    *,
    login_base: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    as_of: datetime,
    refresh_lifetime: timedelta = timedelta(days=365),
    timeout: float = 30.0,
) -> Tokens:
    return _token_call(
        login_base=login_base, client_id=client_id, client_secret=client_secret,
        form={"grant_type": "refresh_token", "refresh_token": refresh_token},
        as_of=as_of, refresh_lifetime=refresh_lifetime, timeout=timeout,
    )  # fmt: skip
