from django.urls import path

from . import views

app_name = "efactura"
urlpatterns = [
    path("", views.settings_view, name="settings"),
    path("connect/", views.connect_view, name="connect"),
    path("callback/", views.callback_view, name="callback"),
    path("invoices/<int:invoice_id>/send/", views.send_view, name="send"),
    path("invoices/<int:invoice_id>/answer.zip", views.answer_view, name="answer"),
    path("incoming/", views.incoming_view, name="incoming"),
    path("incoming/<int:pk>/download/", views.incoming_download_view, name="incoming-download"),
    path("registry/", views.registry_lookup_view, name="registry-lookup"),
]
