"""The dashboard: invoiced vs collected, outstanding, what is due next, what needs attention."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from recurent.common.access import company_required


@company_required("viewer")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {})
