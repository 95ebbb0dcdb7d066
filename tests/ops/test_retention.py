"""Invoices are kept for the legal retention period: nothing deletes them, and a company with
issued invoices cannot be deleted (its invoices would go with it)."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from recurent.invoices.models import ImmutableInvoiceError, Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def test_a_company_with_invoices_cannot_be_deleted_and_invoices_stay(world):
    f.contract(world.company, issuer=world.user)
    issue_due(as_of=local(2026, 1, 31, 10), company_id=world.company.pk)
    assert Invoice.objects.count() == 1
    with pytest.raises(ProtectedError):
        world.company.delete()
    with pytest.raises(ImmutableInvoiceError):
        Invoice.objects.all().delete()
    with pytest.raises(ImmutableInvoiceError):
        Invoice.objects.get().delete()
    assert Invoice.objects.count() == 1


def test_a_company_without_invoices_can_be_removed(world):
    world.company.delete()
