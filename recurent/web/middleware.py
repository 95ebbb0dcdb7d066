"""Middleware of the web app (and of the API and portal, which share the settings' list).

``IgnoreAcceptLanguage``: Romanian unless the user chose otherwise (the browser's
Accept-Language is not a choice); it sits right before ``LocaleMiddleware``.
``WriterTurn``: every request that may write is a person's write, which a billing run on SQLite
lets through between two of its blocks (recurent/common/writer_turn.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from recurent.common import writer_turn


class IgnoreAcceptLanguage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class WriterTurn:
    SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in self.SAFE:
            return self.get_response(request)
        with writer_turn.by_hand():
            return self.get_response(request)
