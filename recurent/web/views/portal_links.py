"""The client's portal link from the client and contract pages: copy it, or email it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from recurent.clients.models import Client
from recurent.clients.portal_links import portal_url
from recurent.common import clock
from recurent.companies.access import company_required, scoped
from recurent.mail.services import client_language, notice_queue
from recurent.web.views.common import error_text


@require_POST
@company_required("accountant")
def client_portal_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue an email with the client's portal link to the client's addresses (the outbox
    sends it like any other message, so the dashboard tells when it does not leave)."""
    client = get_object_or_404(scoped(Client.objects, request), pk=pk)
    company = request.company  # type: ignore[attr-defined]
    ctx = {"client": client, "company": company, "url": portal_url(client.pk)}
    with translation.override(client_language(client)):
        subject = render_to_string("web/clients/portal_link_subject.txt", ctx).strip()
        body = render_to_string("web/clients/portal_link_email.txt", ctx)
    try:
        notice_queue(
            company=company,
            to=list(client.emails or []),
            subject=subject,
            body_text=body,
            as_of=clock.now(),
        )
    except ValidationError as e:
        if not client.emails:
            messages.error(request, _("The client has no email address: add one first."))
        else:
            messages.error(request, error_text(e))
    else:
        messages.success(
            request,
            _("The portal link is queued for %(to)s.") % {"to": ", ".join(client.emails)},
        )
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return redirect(back or "web:client", **({} if back else {"pk": client.pk}))
