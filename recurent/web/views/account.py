"""Log in/out, password change and reset, language and company switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from recurent.companies import access
from recurent.companies.models import Membership
from recurent.web import appmail
from recurent.web.models import UserPreference

LANG_COOKIE = settings.LANGUAGE_COOKIE_NAME


def _with_language(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
    )
    return response


class LoginView(auth_views.LoginView):
    template_name = "web/auth/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        # The user's own language follows them to any browser.
        pref = UserPreference.objects.filter(user=form.get_user()).first()
        if pref and pref.language:
            translation.activate(pref.language)
            _with_language(response, pref.language)
        return response


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer once an account or an address has failed too often (settings:
    RECURENT_LOGIN_FAILURE_LIMIT, RECURENT_LOGIN_LOCKOUT_MINUTES): the login page with the
    reason, 429 Too Many Requests. The same words whether the account exists or not."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    form = AuthenticationForm(request)
    message = ngettext(
        "Too many failed logins for this account or from this address. Try again in "
        "%(minutes)s minute, or ask an administrator of your company to unlock the account.",
        "Too many failed logins for this account or from this address. Try again in "
        "%(minutes)s minutes, or ask an administrator of your company to unlock the account.",
        minutes,
    ) % {"minutes": minutes}
    return render(request, "web/auth/login.html", {"form": form, "locked": message}, status=429)


class LogoutView(auth_views.LogoutView):
    next_page = "web:login"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/auth/password_change.html"
    success_url = reverse_lazy("web:password-change-done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "web/auth/password_change_done.html"


class AppPasswordResetForm(PasswordResetForm):
    """Django's form, sending through the application's mail route (recurent.web.appmail): the
    installation's server, else the server of the user's company. ``not_sent`` tells the view."""

    not_sent = False

    def send_mail(  # type: ignore[override]
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        membership = (
            Membership.objects.filter(user=context["user"]).select_related("company").first()
        )
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        try:
            appmail.app_mail_send(
                company=membership.company if membership else None,
                to=to_email,
                subject=subject,
                body=render_to_string(email_template_name, context),
            )
        except appmail.NotSent:
            self.not_sent = True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/auth/password_reset.html"
    email_template_name = "web/auth/password_reset_email.txt"
    subject_template_name = "web/auth/password_reset_subject.txt"
    success_url = reverse_lazy("web:password-reset-done")
    form_class = AppPasswordResetForm

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        if form.not_sent:
            # Said rather than pretending a link is on its way (the page stays a 200, no 500).
            form.add_error(
                None,
                _(
                    "The email could not be sent: this installation has no working mail "
                    "server. Ask your administrator to set one up or to give you a new password."
                ),
            )
            return self.render_to_response(self.get_context_data(form=form), status=503)
        return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/auth/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "web/auth/password_reset_confirm.html"
    success_url = reverse_lazy("web:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/auth/password_reset_complete.html"


def _next_url(request: HttpRequest) -> str:
    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        nxt = "/"
    return nxt


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Choose the interface language: a cookie for this browser, a preference for the user."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseRedirect(_next_url(request))
    if request.user.is_authenticated:
        UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    return _with_language(HttpResponseRedirect(_next_url(request)), language)


@require_POST
@login_required
def switch_company(request: HttpRequest) -> HttpResponse:
    try:
        company = access.set_current_company(request, int(request.POST.get("company", "0")))
    except ValueError:
        return HttpResponseRedirect("/")
    messages.info(request, _("You are now working in %(company)s.") % {"company": company})
    return HttpResponseRedirect("/")


@login_required
def no_company(request: HttpRequest) -> HttpResponse:
    # Whoever runs the installation (the first login after createsuperuser) founds the first
    # company through the guided set-up instead of reading "ask an administrator".
    if request.user.is_authenticated and request.user.is_superuser:
        return redirect("web:setup")
    return render(request, "web/no_company.html", status=403)
