from django.urls import path

from recurent.web.efactura import views

app_name = "efactura"
urlpatterns = [
    path("", views.settings_view, name="settings"),
    path("connect/", views.connect_view, name="connect"),
    path("callback/", views.callback_view, name="callback"),
    path("invoices/<int:invoice_id>/send/", views.send_view, name="send"),
    path("invoices/<int:invoice_id>/answer.zip", views.answer_view, name="answer"),
    path("incoming/", views.incoming_view, name="incoming"),
    path("incoming/<int:pk>/", views.incoming_detail_view, name="incoming-detail"),
    path("incoming/<int:pk>/invoice.pdf", views.incoming_pdf_view, name="incoming-pdf"),
    path("incoming/<int:pk>/download/", views.incoming_download_view, name="incoming-download"),
    path("invoices/<int:invoice_id>/correct/", views.correct_view, name="correct"),
    path(
        "invoices/<int:invoice_id>/corrections/<int:version>/<str:which>.xml",
        views.correction_xml_view,
        name="correction-xml",
    ),
    path("registry/", views.registry_lookup_view, name="registry-lookup"),
]
