from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import path

from recurent.web.views import (
    account,
    accounting,
    billing,
    company,
    contract_inline,
    contracts,
    dashboard,
    inflation,
    interest,
    invoice_new,
    invoices,
    nomenclators,
    portal_links,
    review,
    setup,
    usage,
    users,
)

app_name = "web"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    # Browsers ask for /favicon.ico whatever the page says: send them to the app's icon.
    path(
        "favicon.ico",
        lambda request: redirect(static("web/favicon.svg"), permanent=True),
        name="favicon",
    ),
    # Accounting
    path("accounting/", accounting.accounting_index, name="accounting"),
    path("accounting/export/", accounting.accounting_export_view, name="accounting-export"),
    path(
        "accounting/month-close/", accounting.accounting_month_close, name="accounting-month-close"
    ),
    path("accounting/settings/", accounting.accounting_settings, name="accounting-settings"),
    path("accounting/rules/", accounting.accounting_rule_add, name="accounting-rule-add"),
    path(
        "accounting/rules/<int:pk>/delete/",
        accounting.accounting_rule_delete,
        name="accounting-rule-delete",
    ),
    # Account
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
    # Guided set-up (a new installation, or a company still missing a step)
    path("setup/", setup.setup, name="setup"),
    path("setup/done/", setup.setup_done, name="setup-done"),
    path("setup/<slug:step>/", setup.setup, name="setup-step"),
    # Nomenclators
    path("products/", nomenclators.product_list, name="products"),
    path("products/new/", nomenclators.product_create_view, name="product-add"),
    path("products/<int:pk>/", nomenclators.product_edit, name="product-edit"),
    path("clients/", nomenclators.client_list, name="clients"),
    path("clients/new/", nomenclators.client_create_view, name="client-add"),
    path("clients/<int:pk>/", nomenclators.client_detail, name="client"),
    path("clients/<int:pk>/edit/", nomenclators.client_edit, name="client-edit"),
    path(
        "clients/<int:pk>/portal-link/",
        portal_links.client_portal_send,
        name="client-portal-send",
    ),
    path(
        "clients/<int:pk>/flags/<int:flag>/seen/",
        nomenclators.client_flag_ack,
        name="client-flag-ack",
    ),
    path("series/", nomenclators.series_list, name="series"),
    path("series/new/", nomenclators.series_create_view, name="series-add"),
    # Contracts
    path("contracts/", contracts.contract_list, name="contracts"),
    path("contracts/new/", contracts.contract_create_view, name="contract-add"),
    path(
        "contracts/schedule-preview/",
        contracts.contract_schedule_preview,
        name="contract-schedule-preview",
    ),
    path("contracts/<int:pk>/", contracts.contract_detail, name="contract"),
    path("contracts/<int:pk>/edit/", contracts.contract_edit, name="contract-edit"),
    path("contracts/quick/client/", contract_inline.quick_client, name="contract-quick-client"),
    path("contracts/quick/product/", contract_inline.quick_product, name="contract-quick-product"),
    # Before the catch-all action below: "usage" is a page, not an action.
    path("contracts/<int:pk>/usage/", usage.contract_usage, name="contract-usage"),
    path("contracts/<int:pk>/<slug:action>/", contracts.contract_action, name="contract-action"),
    # Invoices
    path("invoices/", invoices.invoice_list, name="invoices"),
    path("invoices/new/", invoice_new.invoice_new, name="invoice-add"),
    # Contract invoices waiting for review before numbering (invoices.review).
    path("invoices/review/", review.review_list, name="review"),
    path("invoices/review/<int:pk>/", review.review_edit, name="review-draft"),
    path("invoices/drafts/<int:pk>/", invoice_new.invoice_new, name="invoice-draft"),
    path("invoices/drafts/<int:pk>/proforma.pdf", invoice_new.proforma_pdf, name="proforma-pdf"),
    path("invoices/<int:pk>/", invoices.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/storno/", invoices.invoice_storno_view, name="invoice-storno"),
    path("invoices/<int:pk>/resend/", invoices.invoice_resend_view, name="invoice-resend"),
    # Billing run
    path("billing/", billing.billing_run, name="billing-run"),
    path("billing/<str:token>/", billing.billing_job, name="billing-job"),
    path("billing/<str:token>/status/", billing.billing_job_status, name="billing-job-status"),
    # Settings
    path("settings/", company.company_settings, name="settings"),
    path("settings/logo/", company.company_logo, name="company-logo"),
    path("settings/interest/", interest.interest_settings, name="interest"),
    path("settings/interest/issue/", interest.interest_issue, name="interest-issue"),
    path("settings/inflation/", inflation.inflation_rates, name="inflation-rates"),
    path(
        "settings/inflation/<int:year>/remove/",
        inflation.inflation_rate_remove,
        name="inflation-rate-remove",
    ),
    path("settings/users/", users.user_list, name="users"),
    path("settings/users/<int:pk>/role/", users.user_role, name="user-role"),
    path("settings/users/<int:pk>/remove/", users.user_remove, name="user-remove"),
    path("settings/users/<int:pk>/unlock/", users.user_unlock, name="user-unlock"),
    path("settings/api-tokens/", users.api_tokens, name="api-tokens"),
    path(
        "settings/api-tokens/<int:pk>/revoke/", users.api_token_revoke_view, name="api-token-revoke"
    ),
]
