from django.urls import path

from recurent.web.mail import views

app_name = "mail"
urlpatterns = [
    # At the app's root so that the menu's "Email templates" stays lit on every mail page.
    path("", views.template_list, name="templates"),
    path("templates/add/", views.template_create, name="template-add"),
    path("templates/<int:pk>/", views.template_edit, name="template-edit"),
    path("settings/", views.smtp_settings, name="settings"),
    path("settings/test/", views.smtp_test, name="settings-test"),
    path("reminders/", views.reminder_list, name="reminders"),
    path("reminders/<int:pk>/remove/", views.reminder_remove, name="reminder-remove"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/resend/", views.outbox_resend, name="outbox-resend"),
]
