from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "recurent.accounting"
    label = "accounting"
    verbose_name = "Accounting exports"

    def ready(self) -> None:
        from recurent.worker.tasks import register

        from .tasks import month_close_notify

        # Independent of the others: it reads invoices and queues one notice a month.
        register("accounting-month-close", month_close_notify)
