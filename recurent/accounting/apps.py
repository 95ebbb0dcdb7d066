from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "recurent.accounting"
    label = "accounting"
    verbose_name = "Accounting exports"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py.
