from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "recurent.gateways"
    verbose_name = "Online payments (Stripe, NETOPIA)"

    def ready(self) -> None:
        from recurent.documents import pdf
        from recurent.invoices.services import AFTER_ISSUE
        from recurent.worker.tasks import register

        from .selectors import pdf_pay_link
        from .services import charges_after_issue, charges_run, expiring_cards_notify

        # The pay link as a QR code on the invoice PDF, next to the IBAN.
        if pdf_pay_link not in pdf.PAY_LINKS:
            pdf.PAY_LINKS.append(pdf_pay_link)

        # After balances.on_issued (payments is earlier in INSTALLED_APPS): the charge rows are
        # only intents, written in the issuing transaction; the worker calls the provider after
        # the commit (charges_run), never inside it.
        if charges_after_issue not in AFTER_ISSUE:
            AFTER_ISSUE.append(charges_after_issue)
        register("gateways-charges", charges_run)
        register("gateways-expiring-cards", expiring_cards_notify)
