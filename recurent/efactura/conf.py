"""e-Factura settings: ``settings.RECURENT_EFACTURA`` (a dict) overrides, else env, else ANAF's URLs.

Read at call time (not import time), so tests and deployments can point every URL elsewhere.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "LOGIN_URL_TEST": "https://logincert.anaf.ro/anaf-oauth2/v1",
    "LOGIN_URL_PROD": "https://logincert.anaf.ro/anaf-oauth2/v1",
    "API_URL_TEST": "https://api.anaf.ro/test/FCTEL/rest",
    "API_URL_PROD": "https://api.anaf.ro/prod/FCTEL/rest",
    "REGISTRY_URL": "https://webservicesp.anaf.ro/api/PlatitorTvaRest/v9/tva",
    "TIMEOUT": 30.0,  # seconds per HTTP call
    "REGISTRY_MIN_INTERVAL": 1.0,  # ANAF: at most one registry call per second
    "REGISTRY_CACHE_HOURS": 24,
    "RATE_PER_MINUTE": 600,  # ANAF allows ~1000/min; stay well under it
    "REFRESH_MARGIN_HOURS": 72,  # refresh the access token this long before it expires
    "REFRESH_TOKEN_DAYS": 365,
    "RECONCILE_AFTER_MINUTES": 10,  # an upload still UPLOADING this long after it started was lost
    "RECONCILE_GRACE_HOURS": 12,  # nothing at ANAF this long after a lost upload: upload again
    "INCOMING_EVERY_MINUTES": 60,
    "REDIRECT_URI": "",  # registered at ANAF; default: PUBLIC_URL + /efactura/callback/
}

_ENV = {
    "LOGIN_URL_TEST": "RECURENT_ANAF_LOGIN_URL_TEST",
    "LOGIN_URL_PROD": "RECURENT_ANAF_LOGIN_URL_PROD",
    "API_URL_TEST": "RECURENT_ANAF_API_URL_TEST",
    "API_URL_PROD": "RECURENT_ANAF_API_URL_PROD",
    "REGISTRY_URL": "RECURENT_ANAF_REGISTRY_URL",
    "REDIRECT_URI": "RECURENT_ANAF_REDIRECT_URI",
}


def get(name: str) -> Any:
    overrides = getattr(settings, "RECURENT_EFACTURA", {}) or {}
    if name in overrides:
        return overrides[name]
    env = _ENV.get(name)
    if env and os.environ.get(env):
        return os.environ[env]
    return DEFAULTS[name]


def login_url(environment: str) -> str:
    return str(get(f"LOGIN_URL_{environment.upper()}"))


def api_url(environment: str) -> str:
    return str(get(f"API_URL_{environment.upper()}"))


def timeout() -> float:
    return float(get("TIMEOUT"))


def hours(name: str) -> timedelta:
    return timedelta(hours=float(get(name)))


def minutes(name: str) -> timedelta:
    return timedelta(minutes=float(get(name)))


def redirect_uri() -> str:
    explicit = str(get("REDIRECT_URI") or "")
    if explicit:
        return explicit
    base = getattr(settings, "RECURENT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/efactura/callback/"
