"""Who may do what, in which company: the one check every interface (web, payments, mail…) uses.

The current company is kept in the session (``SESSION_KEY``) and is always re-checked against
``companies_for(user)``: a stale or crafted session value never grants access.

Roles are ordered viewer < accountant < admin. A viewer only reads: any request that is not
GET/HEAD/OPTIONS needs at least the accountant role, whatever the view declares, so a crafted POST
from a viewer is refused (403) even on a view declared ``role="viewer"``.

Usage::

    @company_required("accountant")
    def product_edit(request, pk):
        product = get_object_or_404(scoped(Product.objects, request), pk=pk)  # other company -> 404

    class ProductList(CompanyRequiredMixin, ListView):
        required_role = "viewer"
        def get_queryset(self):
            return scoped(Product.objects, self.request)

After the check, ``request.company`` and ``request.role`` are set.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from recurent.companies.models import Company, Membership, Role

SESSION_KEY = "recurent_company_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RANK = {Role.VIEWER: 0, Role.ACCOUNTANT: 1, Role.ADMIN: 2}

View = Callable[..., HttpResponse]


class NoCompany(Exception):
    """The user is logged in but belongs to no company."""


def _rank(role: str) -> int:
    try:
        return RANK[Role(role)]
    except ValueError:
        raise ValueError(
            f"unknown role {role!r}; expected one of {', '.join(Role.values)}"
        ) from None


def memberships(request: HttpRequest) -> list[Membership]:
    """The user's memberships with their companies, cached on the request (one query)."""
    cached = getattr(request, "_recurent_memberships", None)
    if cached is None:
        user = request.user
        if not user.is_authenticated:
            cached = []
        else:
            cached = list(
                Membership.objects.filter(user=user)
                .select_related("company")
                .order_by("company__legal_name", "company_id")
            )
        request._recurent_memberships = cached  # type: ignore[attr-defined]
    return cached


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the company chosen in the session, else the user's first company."""
    ms = memberships(request)
    if not ms:
        return None
    chosen = request.session.get(SESSION_KEY)
    for m in ms:
        if m.company_id == chosen:
            return m
    request.session[SESSION_KEY] = ms[0].company_id
    return ms[0]


def current_company(request: HttpRequest) -> Company | None:
    m = current_membership(request)
    return m.company if m else None


def set_current_company(request: HttpRequest, company_id: int) -> Company:
    """Switch company; raises PermissionDenied if the user is not a member of it."""
    for m in memberships(request):
        if m.company_id == company_id:
            request.session[SESSION_KEY] = company_id
            return m.company
    raise PermissionDenied("not a member of this company")


def has_role(request: HttpRequest, role: str) -> bool:
    """Whether the user's role in the current company is at least ``role``."""
    m = current_membership(request)
    return m is not None and _rank(m.role) >= _rank(role)


def check(request: HttpRequest, role: str = Role.VIEWER) -> Membership:
    """Raise PermissionDenied unless logged in, a member of the current company, with ``role``.

    Sets ``request.company``, ``request.role`` and ``request.membership``.
    """
    needed = _rank(role)
    if request.method not in SAFE_METHODS:
        needed = max(needed, RANK[Role.ACCOUNTANT])
    if not request.user.is_authenticated:
        raise PermissionDenied("login required")
    m = current_membership(request)
    if m is None:
        raise NoCompany()
    if _rank(m.role) < needed:
        raise PermissionDenied("role too low")
    request.company = m.company  # type: ignore[attr-defined]
    request.role = m.role  # type: ignore[attr-defined]
    request.membership = m  # type: ignore[attr-defined]
    return m


def _no_company_response(request: HttpRequest) -> HttpResponse:
    from django.urls import NoReverseMatch, reverse

    try:
        return redirect(reverse("web:no-company"))
    except NoReverseMatch:
        raise PermissionDenied("no company") from None


def company_required(role: str = Role.VIEWER) -> Callable[[View], View]:
    """Decorator: login (redirect), membership and role (403); see the module docstring."""
    _rank(role)  # fail at import time on a typo

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                check(request, role)
            except NoCompany:
                return _no_company_response(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class CompanyRequiredMixin:
    """Class-based views: set ``required_role`` (default viewer). POST etc. need accountant."""

    required_role: str = Role.VIEWER

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            check(request, self.required_role)
        except NoCompany:
            return _no_company_response(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,no-any-return]


def scoped(qs: Any, request: HttpRequest, field: str = "company") -> QuerySet[Any]:
    """Restrict a queryset (or manager) to the current company: another company's rows -> 404.

    ``field`` is the lookup path to the company (e.g. ``"contract__company"``).
    """
    company = getattr(request, "company", None)
    if company is None:
        company = current_company(request)
    if company is None:
        raise PermissionDenied("no company")
    if not isinstance(qs, QuerySet):
        qs = qs.all()
    return qs.filter(**{field: company})  # type: ignore[no-any-return]
