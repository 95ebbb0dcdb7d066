"""Small writes the web needs that the domain apps do not offer (yet).

Each is a keyword-only service like the domain's own; the lead may move them into their apps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy

from recurent.common.errors import field_error
from recurent.common.text import invisible_name_errors
from recurent.companies.models import Company, Membership, Role
from recurent.companies.services import membership_grant


def client_flag_acknowledge(*, check: Any, as_of: datetime) -> None:
    """Close a registry re-check flag once a person has looked at it (the client page's "Seen")."""
    type(check).objects.filter(pk=check.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=as_of
    )


def _admins_left(company: Company, without_user_id: int) -> int:
    return (
        Membership.objects.filter(company=company, role=Role.ADMIN)
        .exclude(user_id=without_user_id)
        .count()
    )


@transaction.atomic
def member_invite(
    *,
    company: Company,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
) -> tuple[Membership, User, bool]:
    """Give a person access to the company by email: an existing user is added, else a user is
    created, with ``password`` or else without a usable one (they choose it from an emailed link).
    An existing user's password is never changed here.

    Returns (membership, user, created).
    """
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise field_error(
            "email", gettext_lazy("enter a valid email address"), "email_invalid"
        ) from None
    if role not in Role.values:
        raise field_error(
            "role", gettext_lazy("unknown role %(role)s"), "unknown_role", role=repr(role)
        )
    names = invisible_name_errors({"first_name": first_name, "last_name": last_name})
    if names:
        raise ValidationError(names)
    user_model: type[User] = get_user_model()  # type: ignore[assignment]
    user = user_model.objects.filter(email__iexact=email).order_by("pk").first()
    created = user is None
    if user is None:
        username = email[:150]
        if user_model.objects.filter(username__iexact=username).exists():
            raise field_error(
                "email",
                gettext_lazy("a user with this user name already exists"),
                "username_taken",
            )
        user = user_model(
            username=username, email=email, first_name=first_name, last_name=last_name
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif Membership.objects.filter(user=user, company=company).exists():
        raise field_error(
            "email",
            gettext_lazy("this person already has access to the company"),
            "already_member",
        )
    return membership_grant(user=user, company=company, role=role), user, created


@transaction.atomic
def member_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise field_error(
            "role", gettext_lazy("unknown role %(role)s"), "unknown_role", role=repr(role)
        )
    # Locked so that two administrators demoting each other at once cannot leave none.
    list(Membership.objects.select_for_update().filter(company_id=membership.company_id))
    if (
        membership.role == Role.ADMIN
        and role != Role.ADMIN
        and not _admins_left(membership.company, membership.user_id)
    ):
        raise field_error(
            "role",
            gettext_lazy("the company needs at least one administrator"),
            "last_admin",
        )
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, as_of: datetime) -> None:
    """Remove a person's access to the company (their user and their past work stay)."""
    list(Membership.objects.select_for_update().filter(company_id=membership.company_id))
    if membership.role == Role.ADMIN and not _admins_left(membership.company, membership.user_id):
        raise field_error(
            "role",
            gettext_lazy("the company needs at least one administrator"),
            "last_admin",
        )
    membership.delete()
    # API tokens act as their user in this company: they die with the access, so that giving
    # the access back later does not bring old tokens back to life.
    try:
        from recurent.companies.api_tokens import api_token_revoke
        from recurent.companies.models import ApiToken
    except ImportError:  # pragma: no cover - the API app is not installed
        return
    for token in ApiToken.objects.filter(
        user_id=membership.user_id, company_id=membership.company_id, revoked_at__isnull=True
    ):
        api_token_revoke(token=token, as_of=as_of)
