from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "recurent.gateways"
    verbose_name = "Online payments (Stripe, NETOPIA)"

    def ready(self) -> None:
        from recurent.invoices.services import AFTER_ISSUE
        from recurent.worker.tasks import register

        from .services import charges_after_issue, charges_run, expiring_cards_notify

        # After balances.on_issued (payments is earlier in INSTALLED_APPS): the charge rows are
        # only intents, written in the issuing transaction; the worker calls the provider after
        # the commit (charges_run), never inside it.
        if charges_after_issue not in AFTER_ISSUE:
            AFTER_ISSUE.append(charges_after_issue)
        register("gateways-charges", charges_run)
        register("gateways-expiring-cards", expiring_cards_notify)
