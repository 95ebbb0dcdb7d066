from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("clients/<int:client_id>/link/", views.link_admin, name="link-admin"),
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/invoices/<int:invoice_id>/<str:kind>/", views.document, name="document"),
    path("<str:token>/proformas/<int:draft_id>.pdf", views.proforma_pdf, name="proforma-pdf"),
    path(
        "<str:token>/contracts/<int:contract_id>/unsubscribe/",
        views.unsubscribe,
        name="unsubscribe",
    ),
    path("<str:token>/contracts/<int:contract_id>/change/", views.change, name="change"),
]
