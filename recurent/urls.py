from django.contrib import admin
from django.urls import include, path

from recurent.ops import health, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    # Probes and metrics for the container, the proxy and Prometheus (recurent/ops).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/", include("recurent.api.urls")),
    path("portal/", include("recurent.portal.urls")),
    path("efactura/", include("recurent.web.efactura.urls")),
    path("documents/", include("recurent.web.documents.urls")),
    path("mail/", include("recurent.web.mail.urls")),
    path("payments/", include("recurent.web.payments.urls")),
    path("gateways/", include("recurent.gateways.urls")),
    # The web app owns the root (login, dashboard, nomenclators).
    path("", include("recurent.web.urls")),
]
