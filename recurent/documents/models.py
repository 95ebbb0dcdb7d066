"""Rendered documents of an invoice (PDF, e-Factura XML), stored once so that a download
never re-renders differently."""

from __future__ import annotations

from django.db import models


class DocumentKind(models.TextChoices):
    PDF = "pdf", "PDF"
    XML = "xml", "e-Factura XML"


class InvoiceDocument(models.Model):
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=3, choices=DocumentKind.choices)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=60)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="document_once_per_kind")
        ]
