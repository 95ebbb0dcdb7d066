from django.urls import path

from recurent.web.payments import views

app_name = "payments"
urlpatterns = [
    path("", views.payment_list, name="list"),
    path("record/", views.payment_record, name="record"),
    path("record/invoice/<int:invoice_id>/", views.payment_record, name="record-for-invoice"),
    path("<int:pk>/allocate/", views.payment_allocate, name="allocate"),
    path("<int:pk>/reverse/", views.payment_reverse, name="reverse"),
    path("receipts/<int:pk>.pdf", views.receipt_pdf_view, name="receipt-pdf"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:pk>/", views.statement_import, name="statement-import"),
    path(
        "statements/<int:pk>/status/",
        views.statement_import_status,
        name="statement-import-status",
    ),
    path("statements/lines/<int:pk>/match/", views.statement_line_match, name="line-match"),
    path("mandates/", views.mandates, name="mandates"),
    path("collections/", views.collections, name="collections"),
    path("collections/<int:pk>/file/", views.collection_download, name="collection-file"),
    path("reports/", views.report_index, name="reports"),
    path("reports/<str:kind>.<str:fmt>", views.report_download, name="report"),
]
