from django.urls import path

from . import views

app_name = "documents"
urlpatterns = [
    path("invoices/<int:pk>.pdf", views.invoice_pdf, name="invoice-pdf"),
    path("invoices/<int:pk>.xml", views.invoice_xml, name="invoice-xml"),
]
