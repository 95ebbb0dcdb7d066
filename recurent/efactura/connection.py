"""A company's SPV connection: configure, authorise (OAuth2 code flow), keep the token fresh.

Refreshing rotates both tokens and kills the old refresh token the moment ANAF answers, so
two workers must never refresh with the same refresh token: the refresh runs under
``SELECT ... FOR UPDATE`` of the connection row (SQLite: the IMMEDIATE write lock), the
second worker waits, re-reads, and finds a fresh access token.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy

from recurent.common.errors import field_error
from recurent.companies.models import Company

from . import conf, oauth
from .crypto import SecretUnreadable, encrypt
from .http import AnafError, AnafUnavailable
from .models import ConnectionStatus, Environment, SpvConnection
from .spv import SpvClient

log = logging.getLogger("recurent.efactura")


class NeedsReconnect(Exception):
    """No usable token: a person must authorise the application again at ANAF."""


def connection_for(*, company: Company) -> SpvConnection:
    conn, _ = SpvConnection.objects.get_or_create(company=company)
    return conn


@transaction.atomic
def connection_configure(
    *,
    company: Company,
    environment: str,
    client_id: str,
    client_secret: str | None = None,
    auto_upload: bool | None = None,
    deadline_days: int | None = None,
    notify_email: str | None = None,
) -> SpvConnection:
    """Set the OAuth application registered at ANAF. ``client_secret=None`` keeps the stored one.

    Changing environment or client invalidates the tokens (they belong to the old pair).
    """
    conn = SpvConnection.objects.select_for_update().get(pk=connection_for(company=company).pk)
    if environment not in Environment.values:
        raise field_error(
            "environment",
            gettext_lazy("must be one of %(value)s"),
            "invalid_choice",
            value=", ".join(Environment.values),
        )
    client_id = client_id.strip()
    if not client_id:
        raise field_error(
            "client_id",
            gettext_lazy("the client id registered at ANAF is required"),
            "required",
        )
    if client_secret is None and not conn.client_secret_enc:
        raise field_error(
            "client_secret",
            gettext_lazy("the client secret registered at ANAF is required"),
            "required",
        )
    if deadline_days is not None and not 1 <= deadline_days <= 30:
        raise field_error("deadline_days", gettext_lazy("between 1 and 30 days"), "out_of_range")
    changed = conn.environment != environment or conn.client_id != client_id
    conn.environment = environment
    conn.client_id = client_id
    if client_secret is not None:
        changed = changed or bool(conn.client_secret_enc)
        conn.client_secret_enc = encrypt(client_secret.strip())
    if changed and conn.status != ConnectionStatus.NOT_CONNECTED:
        _forget_tokens(
            conn, ConnectionStatus.RECONNECT, "the ANAF application or environment changed"
        )
    if auto_upload is not None:
        conn.auto_upload = auto_upload
    if deadline_days is not None:
        conn.deadline_days = deadline_days
    if notify_email is not None:
        conn.notify_email = notify_email.strip()
    conn.save()
    return conn


def _forget_tokens(conn: SpvConnection, status: str, reason: str) -> None:
    conn.access_token_enc = conn.refresh_token_enc = ""
    conn.access_expires_at = conn.refresh_expires_at = None
    conn.status = status
    conn.status_reason = reason


def connection_authorize_url(*, conn: SpvConnection, state: str | None = None) -> tuple[str, str]:
    """(URL to send the user to, the ``state`` to keep in their session)."""
    if not conn.client_id or not conn.client_secret_enc:
        raise field_error(
            "client_id",
            gettext_lazy("configure the ANAF application first"),
            "not_configured",
        )
    state = state or secrets.token_urlsafe(24)
    url = oauth.authorize_url(
        login_base=conf.login_url(conn.environment),
        client_id=conn.client_id,
        redirect_uri=conf.redirect_uri(),
        state=state,
    )
    return url, state


def _store(conn: SpvConnection, tokens: oauth.Tokens, as_of: datetime) -> None:
    conn.access_token_enc = encrypt(tokens.access_token)
    conn.refresh_token_enc = encrypt(tokens.refresh_token)
    conn.access_expires_at = tokens.access_expires_at
    conn.refresh_expires_at = tokens.refresh_expires_at
    conn.status = ConnectionStatus.CONNECTED
    conn.status_reason = ""
    conn.refreshed_at = as_of


def connection_complete(*, conn: SpvConnection, code: str, as_of: datetime) -> SpvConnection:
    """The callback: exchange the code (valid ~60 s) for tokens and store them encrypted."""
    if not code:
        raise field_error(
            "code",
            gettext_lazy("ANAF sent no authorisation code"),
            "no_authorisation_code",
        )
    tokens = oauth.exchange_code(
        login_base=conf.login_url(conn.environment),
        client_id=conn.client_id,
        client_secret=conn.client_secret,
        code=code,
        redirect_uri=conf.redirect_uri(),
        as_of=as_of,
        refresh_lifetime=timedelta(days=float(conf.get("REFRESH_TOKEN_DAYS"))),
        timeout=conf.timeout(),
    )
    with transaction.atomic():
        locked = SpvConnection.objects.select_for_update().get(pk=conn.pk)
        _store(locked, tokens, as_of)
        locked.connected_at = as_of
        locked.failures = 0
        locked.backoff_until = None
        locked.save()
    log.info("company %s connected to SPV (%s)", conn.company_id, conn.environment)
    return locked


def connection_access_token(*, company_id: int, as_of: datetime, refused: str | None = None) -> str:
    """A valid access token, refreshed when it expires within the margin.

    ``refused``: the token ANAF just answered 401 to; it is refreshed even if not yet expired
    (unless another worker already replaced it). Raises NeedsReconnect, or AnafUnavailable when
    a refresh is needed and ANAF cannot be reached.
    """
    conn = SpvConnection.objects.get(company_id=company_id)
    margin = conf.hours("REFRESH_MARGIN_HOURS")
    if conn.status != ConnectionStatus.CONNECTED:
        raise NeedsReconnect(conn.status_reason or "not connected to SPV")
    try:
        current = conn.access_token
        if refused is None and conn.access_expires_at and conn.access_expires_at - margin > as_of:
            return current
    except SecretUnreadable as e:
        connection_mark_reconnect(company_id=company_id, reason=str(e))
        raise NeedsReconnect(str(e)) from None

    failure: Exception | None = None
    token = ""
    with transaction.atomic():
        conn = SpvConnection.objects.select_for_update().get(pk=conn.pk)
        if conn.status != ConnectionStatus.CONNECTED:
            raise NeedsReconnect(conn.status_reason or "not connected to SPV")
        current = conn.access_token
        fresh = conn.access_expires_at is not None and conn.access_expires_at - margin > as_of
        if fresh and (refused is None or current != refused):
            return current  # another worker refreshed while we waited for the lock
        if not conn.refresh_token_enc or (
            conn.refresh_expires_at is not None and conn.refresh_expires_at <= as_of
        ):
            _forget_tokens(conn, ConnectionStatus.RECONNECT, "the refresh token expired")
            conn.save()
            failure = NeedsReconnect(conn.status_reason)
        else:
            try:
                tokens = oauth.refresh(
                    login_base=conf.login_url(conn.environment),
                    client_id=conn.client_id,
                    client_secret=conn.client_secret,
                    refresh_token=conn.refresh_token,
                    as_of=as_of,
                    refresh_lifetime=timedelta(days=float(conf.get("REFRESH_TOKEN_DAYS"))),
                    timeout=conf.timeout(),
                )
            except oauth.OAuthRefused as e:
                _forget_tokens(
                    conn, ConnectionStatus.RECONNECT, f"ANAF refused the refresh token ({e.error})"
                )
                conn.save()
                failure = NeedsReconnect(conn.status_reason)
            except AnafUnavailable as e:
                if conn.access_expires_at and conn.access_expires_at > as_of and refused is None:
                    return current  # refreshed early; the old token still works for now
                failure = e
            except AnafError as e:  # malformed answer: the old refresh token may be dead already
                failure = e
            else:
                # Stored in the same transaction that holds the lock: the rotation is atomic.
                _store(conn, tokens, as_of)
                conn.save()
                token = tokens.access_token
    if failure is not None:
        log.warning("company %s: SPV token refresh failed: %s", company_id, failure)
        raise failure
    return token


def connection_mark_reconnect(*, company_id: int, reason: str) -> None:
    with transaction.atomic():
        conn = SpvConnection.objects.select_for_update().get(company_id=company_id)
        _forget_tokens(conn, ConnectionStatus.RECONNECT, reason)
        conn.save()


def connection_disconnect(*, company: Company) -> None:
    with transaction.atomic():
        conn = SpvConnection.objects.select_for_update().get(company=company)
        _forget_tokens(conn, ConnectionStatus.NOT_CONNECTED, "disconnected by hand")
        conn.save()


def spv_client(*, conn: SpvConnection, token: str, limiter=None) -> SpvClient:  # type: ignore[no-untyped-def]
    return SpvClient(
        base_url=conf.api_url(conn.environment),
        access_token=token,
        timeout=conf.timeout(),
        limiter=limiter,
    )
