"""The portal's own state: a per-client key version that revokes every link issued before it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PortalAccess(models.Model):
    client = models.OneToOneField(
        "clients.Client", on_delete=models.CASCADE, related_name="portal_access"
    )
    # Signed into every link; bumping it makes all earlier links invalid at once.
    key_version = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
