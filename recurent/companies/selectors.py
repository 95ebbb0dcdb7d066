"""Reads scoped to what a user may see: nothing of one company is visible from another."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from .models import Company, Membership, Role


def companies_for(user: User) -> QuerySet[Company]:
    if not user.is_authenticated:
        return Company.objects.none()
    return Company.objects.filter(memberships__user=user).order_by("legal_name")


def role_in(user: User, company: Company) -> str | None:
    if not user.is_authenticated:
        return None
    m = Membership.objects.filter(user=user, company=company).only("role").first()
    return m.role if m else None


def can_write(user: User, company: Company) -> bool:
    return role_in(user, company) in {Role.ADMIN, Role.ACCOUNTANT}
