from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "recurent.payments"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py, except the
    # statement import below (wiring.py puts tasks an app registers itself after its own list).

    def ready(self) -> None:
        from recurent.worker import tasks

        from .bank import statements_task

        # Uploaded statements are imported and matched by the worker, not in the web request.
        tasks.register("statements", statements_task)
