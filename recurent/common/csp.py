"""Content-Security-Policy: the browser runs only this application's own scripts.

Scripts come from this origin, or are inline blocks carrying the request's nonce
(``<script nonce="{{ request.csp_nonce }}">``); no inline event handlers (``onclick=``), no
``eval``, no other origin. Styles: this origin and inline ``style`` attributes (the templates
use them for layout, and htmx inserts its indicator style); a style cannot run code. Frames,
plugins and ``<base>`` are refused; forms post only here. Django 5.2 has no CSP of its own
(6.0 adds one): this middleware can give way to it then.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        # A view that set its own policy (a document preview, say) keeps it.
        if HEADER not in response:
            response[HEADER] = policy(nonce)
        return response
