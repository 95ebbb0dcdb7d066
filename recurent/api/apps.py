from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "recurent.api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from recurent.common import events
        from recurent.invoices import services as billing
        from recurent.worker import tasks

        from . import webhooks
        from .idempotency import idempotency_purge

        # Deliveries are rows written in the transaction of the event: no event is lost on a crash.
        events.listen(webhooks.on_event)
        if webhooks.after_issue not in billing.AFTER_ISSUE:
            billing.AFTER_ISSUE.append(webhooks.after_issue)
        tasks.register("webhooks", webhooks.webhooks_deliver)
        tasks.register("api_idempotency_purge", idempotency_purge)
