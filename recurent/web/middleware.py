"""Romanian unless the user chose otherwise: the browser's Accept-Language is not a choice.

To enable (settings, owned by the lead): put ``recurent.web.middleware.IgnoreAcceptLanguage``
right before ``django.middleware.locale.LocaleMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class IgnoreAcceptLanguage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
