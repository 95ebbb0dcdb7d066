from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("recurent.api.urls")),
    path("portal/", include("recurent.portal.urls")),
    path("efactura/", include("recurent.efactura.urls")),
    path("documents/", include("recurent.documents.urls")),
    path("mail/", include("recurent.mail.urls")),
    path("payments/", include("recurent.payments.urls")),
    path("gateways/", include("recurent.gateways.urls")),
    # The web app owns the root (login, dashboard, nomenclators).
    path("", include("recurent.web.urls")),
]
