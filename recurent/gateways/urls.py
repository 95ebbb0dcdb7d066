from django.urls import path

from . import proforma_views, views

app_name = "gateways"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/done/", views.pay_done, name="pay-done"),
    path("pay-proforma/<str:token>/", proforma_views.pay_proforma, name="pay-proforma"),
    path(
        "pay-proforma/<str:token>/done/",
        proforma_views.pay_proforma_done,
        name="pay-proforma-done",
    ),
    path("notify/<int:account_id>/", views.notify, name="notify"),
    path(
        "portal/<str:token>/agreements/<int:agreement_id>/withdraw/",
        views.withdraw,
        name="withdraw",
    ),
]
