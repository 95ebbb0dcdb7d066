"""Users of a company (administrators only): invite or create, change the role, remove access;
and the company's API tokens: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from recurent.common import clock
from recurent.companies.access import company_required
from recurent.companies.models import Membership, Role
from recurent.web import appmail, panels
from recurent.web.forms import ApiTokenForm, InviteForm
from recurent.web.services import member_invite, member_remove, member_set_role
from recurent.web.views.common import apply_errors, error_text


def _members(request: HttpRequest) -> Any:
    return (
        Membership.objects.filter(company=request.company)  # type: ignore[attr-defined]
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )


def _invitation_link(request: HttpRequest, user: Any) -> str:
    """The password-reset link, worded as an invitation: the new user chooses a password."""
    return request.build_absolute_uri(
        reverse(
            "web:password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    )


def _send_invitation(request: HttpRequest, user: Any, link: str) -> None:
    """Raises ``appmail.NotSent`` when the message did not leave."""
    company = request.company  # type: ignore[attr-defined]
    ctx = {"user": user, "company": company, "link": link, "inviter": request.user}
    appmail.app_mail_send(
        company=company,
        to=user.email,
        subject=render_to_string("web/users/invite_subject.txt", ctx).strip(),
        body=render_to_string("web/users/invite_email.txt", ctx),
    )


@company_required(Role.ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["password"]:
                try:
                    validate_password(data["password"])
                except ValidationError as e:
                    raise ValidationError({"password": e.messages}) from None
            membership, user, created = member_invite(
                company=request.company,  # type: ignore[attr-defined]
                email=data["email"],
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password"] or None,
            )
        except ValidationError as e:
            apply_errors(form, e)
        else:
            if created and not data["password"]:
                # The user and the access are kept either way: an email that did not leave is
                # said in words, with the link to pass on by hand (never a 500 after the save).
                link = _invitation_link(request, user)
                try:
                    _send_invitation(request, user, link)
                except appmail.NotSent:
                    messages.warning(
                        request,
                        _(
                            "%(email)s was added, but the invitation email could not be sent "
                            "(no working mail server). Copy this link and give it to them: "
                            "they choose their password there. %(link)s"
                        )
                        % {"email": user.email, "link": link},
                    )
                else:
                    messages.success(
                        request,
                        _("%(email)s was invited: they choose a password from the emailed link.")
                        % {"email": user.email},
                    )
            elif created:
                messages.success(
                    request,
                    _("User %(name)s created; give them their password.") % {"name": user},
                )
            else:
                messages.success(
                    request, _("%(name)s now has access to the company.") % {"name": user}
                )
            return redirect("web:users")
    members = list(_members(request))
    ctx = {
        "form": form,
        "members": members,
        "locked": _locked(members),
        "roles": Role.choices,
        "tokens_url": reverse("web:api-tokens"),
    }
    return render(request, "web/users/list.html", ctx, status=400 if form.errors else 200)


@company_required(Role.ADMIN)
@require_POST
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(_members(request), pk=pk)
    try:
        member_set_role(membership=membership, role=request.POST.get("role", ""))
    except ValidationError as e:
        messages.error(request, error_text(e))
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {"name": membership.user, "role": membership.get_role_display()},
        )
    return redirect("web:users")


@company_required(Role.ADMIN)
@require_POST
def user_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(_members(request), pk=pk)
    try:
        member_remove(membership=membership, as_of=clock.now())
    except ValidationError as e:
        messages.error(request, error_text(e))
    else:
        messages.success(
            request, _("%(name)s no longer has access to the company.") % {"name": membership.user}
        )
    return redirect("web:users")


def _locked(members: Any) -> set[str]:
    """The user names of members whom login throttling (django-axes) currently keeps out."""
    from axes.models import AccessAttempt

    since = clock.now() - settings.AXES_COOLOFF_TIME
    names = [m.user.username for m in members]
    return set(
        AccessAttempt.objects.filter(
            username__in=names,
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=since,
        ).values_list("username", flat=True)
    )


@company_required(Role.ADMIN)
@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    """Let a member whose account was locked by failed logins try again now."""
    from axes.utils import reset

    membership = get_object_or_404(_members(request), pk=pk)
    reset(username=membership.user.username)
    messages.success(request, _("%(name)s can log in again.") % {"name": membership.user.username})
    return redirect("web:users")


# --- API tokens ---------------------------------------------------------------------------------


@company_required(Role.ADMIN)
def api_tokens(request: HttpRequest) -> HttpResponse:
    company = request.company  # type: ignore[attr-defined]
    form = ApiTokenForm(request.POST or None)
    created_raw = None
    if request.method == "POST" and form.is_valid():
        try:
            token, created_raw = panels.api_token_create(
                user=request.user, company=company, name=form.cleaned_data["name"],
                as_of=clock.now(),
            )  # fmt: skip
        except ValidationError as e:
            apply_errors(form, e)
        else:
            form = ApiTokenForm()
    ctx = {
        "form": form,
        # Shown once, in this answer only: only its hash is stored.
        "created_raw": created_raw,
        "tokens": panels.api_tokens_of(company.pk),
        "api_docs": panels.api_docs_url(),
    }
    return render(request, "web/users/tokens.html", ctx)


@company_required(Role.ADMIN)
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = next((t for t in panels.api_tokens_of(request.company.pk) if t.pk == pk), None)  # type: ignore[attr-defined]
    if token is None:
        raise Http404
    panels.api_token_revoke(token=token, as_of=clock.now())
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("web:api-tokens")
