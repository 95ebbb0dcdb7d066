from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "recurent.payments"

    def ready(self) -> None:
        from recurent.invoices.services import AFTER_ISSUE

        from .balances import on_issued

        # Every issued invoice and credit note gets its stored balance in the issuing transaction.
        if on_issued not in AFTER_ISSUE:
            AFTER_ISSUE.append(on_issued)
