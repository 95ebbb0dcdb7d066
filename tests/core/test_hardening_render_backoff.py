"""Failed renders back off (issue 14, item 6): 500 invoices of a company whose logo typst cannot
read no longer hold up the documents of every other company, are attempted a bounded number of
times (per invoice, and the company steps aside), each failure is one log line, and the reason
is shown."""

import logging
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from recurent.companies.models import Role
from recurent.companies.services import membership_grant
from recurent.documents import services as documents
from recurent.documents.models import CompanyRenderPause, InvoiceDocument, RenderFailure
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local

ISSUE_AT = local(2025, 9, 20, 10)  # after both companies' invoices
BROKEN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><g><rect width="10"'  # cut short


@pytest.fixture
def broken_and_healthy(world, settings, tmp_path):
    """500 invoices of a company with a broken SVG logo, then 30 of a healthy company. Every
    PDF rendered by the worker (RECURENT_PDF_IN_ADVANCE): the logo breaks the PDF."""
    settings.MEDIA_ROOT = tmp_path
    settings.RECURENT_PDF_IN_ADVANCE = True
    broken = world.company
    broken.logo.save("logo.svg", ContentFile(BROKEN_SVG))
    first = local(2025, 8, 1, 9)
    daily = {"cycle": "days", "every_days": 1, "first": first}
    for _ in range(10):  # 10 contracts x 50 days: 500 invoices in 50 blocks
        f.contract(broken, issuer=world.user, **daily)
    assert issue_due(as_of=first + timedelta(days=49, hours=1)).issued == 500
    healthy = f.company(legal_name="Sanatoasa SRL")
    f.series(healthy, code="SAN")
    membership_grant(user=world.user, company=healthy, role=Role.ADMIN)
    for _ in range(3):
        f.contract(healthy, issuer=world.user, **daily)
    assert issue_due(as_of=first + timedelta(days=9, hours=1), company_id=healthy.pk).issued == 30
    return broken, healthy


def test_a_company_whose_renders_fail_steps_aside_and_the_others_are_rendered(
    broken_and_healthy, caplog
):
    broken, healthy = broken_and_healthy
    caplog.set_level(logging.WARNING, logger="recurent.documents")
    # The worker for 30 minutes, a pass every 10 seconds (invoices older than the healthy ones
    # come first: the broken company's 500 are all ahead of them in the queue).
    at = ISSUE_AT + timedelta(minutes=1)
    for _ in range(180):
        documents.render_pending(limit=100, as_of=at)
        at += timedelta(seconds=10)
    healthy_ids = set(Invoice.objects.filter(company=healthy).values_list("pk", flat=True))
    rendered = set(InvoiceDocument.objects.values_list("invoice_id", flat=True))
    assert healthy_ids <= rendered  # every document of the other company
    assert InvoiceDocument.objects.filter(invoice__company=healthy).count() == 60
    assert not InvoiceDocument.objects.filter(invoice__company=broken).exists()
    # Bounded: the company pauses after 5 failures in a row, 5 min, then 10, then 20 minutes
    attempts = sum(RenderFailure.objects.values_list("attempts", flat=True))
    assert 5 <= attempts <= 5 + 3, attempts
    pause = CompanyRenderPause.objects.get(company=broken)
    assert pause.pauses >= 2 and pause.paused_until > at - timedelta(seconds=10)
    assert pause.reason
    # One line per failure (and per pause), no tracebacks
    lines = [r for r in caplog.records if r.name == "recurent.documents"]
    assert len(lines) <= 2 * attempts
    assert not any(r.exc_info for r in lines)
    failure = RenderFailure.objects.order_by("pk").first()
    assert (
        failure.attempts >= 1
        and failure.reason
        and failure.next_attempt_at > failure.last_failed_at
    )


def test_an_invoice_backs_off_exponentially_and_a_success_clears_it(broken_and_healthy):
    broken, _ = broken_and_healthy
    at = ISSUE_AT
    documents.render_pending(limit=1, as_of=at)
    first = RenderFailure.objects.get()
    assert (first.attempts, first.next_attempt_at) == (1, at + timedelta(seconds=60))
    # Not tried again before its time; then after 60 s, 120 s, 240 s...
    documents.render_pending(limit=1, as_of=at + timedelta(seconds=59))
    assert RenderFailure.objects.get(pk=first.pk).attempts == 1
    documents.render_pending(limit=1, as_of=at + timedelta(seconds=60))
    again = RenderFailure.objects.get(pk=first.pk)
    assert again.attempts == 2
    assert again.next_attempt_at == at + timedelta(seconds=60 + 120)
    # The logo fixed: the next attempt renders, the failure and the pause are gone
    broken.logo.delete()
    documents.render_pending(limit=10, as_of=at + timedelta(hours=1))
    assert not RenderFailure.objects.filter(pk=first.pk).exists()
    assert CompanyRenderPause.objects.get(company=broken).paused_until is None
    assert InvoiceDocument.objects.filter(invoice_id=first.invoice_id).count() == 2


def test_the_reason_is_shown_on_the_invoice_page_and_the_dashboard(
    broken_and_healthy, client, world
):
    at = ISSUE_AT
    documents.render_pending(limit=20, as_of=at)
    failure = RenderFailure.objects.order_by("pk").first()
    client.force_login(world.user)
    page = client.get(reverse("web:invoice", args=[failure.invoice_id])).content.decode()
    assert 'id="render-failure"' in page and failure.reason[:40] in page
    dash = client.get(reverse("web:dashboard")).content.decode()
    assert 'id="render-attention"' in dash and "5 facturi fără PDF/XML" in dash
