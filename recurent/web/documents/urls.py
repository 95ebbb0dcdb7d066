from django.urls import path

from recurent.web.documents import views

app_name = "documents"
urlpatterns = [
    path("invoices/<int:pk>.pdf", views.invoice_pdf, name="invoice-pdf"),
    path("invoices/<int:pk>.xml", views.invoice_xml, name="invoice-xml"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/preview.pdf", views.settings_preview, name="settings-preview"),
    path("contracts/<int:pk>/annexes/", views.contract_annexes, name="contract-annexes"),
    path("annexes/<int:pk>/", views.annex_download, name="annex-download"),
]
