from django.urls import path

from . import views

app_name = "gateways"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/done/", views.pay_done, name="pay-done"),
    path("notify/<int:account_id>/", views.notify, name="notify"),
    path(
        "portal/<str:token>/agreements/<int:agreement_id>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
]
