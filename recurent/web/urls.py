from django.urls import path

from recurent.web.views import account, dashboard

app_name = "web"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", account.LogoutView.as_view(), name="logout"),
    path("password/", account.PasswordChangeView.as_view(), name="password-change"),
    path("password/done/", account.PasswordChangeDoneView.as_view(), name="password-change-done"),
    path("password/reset/", account.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/sent/", account.PasswordResetDoneView.as_view(), name="password-reset-done"
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        account.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/complete/",
        account.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("language/", account.set_language, name="set-language"),
    path("company/switch/", account.switch_company, name="switch-company"),
    path("no-company/", account.no_company, name="no-company"),
]
