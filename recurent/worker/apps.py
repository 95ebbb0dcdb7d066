from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "recurent.worker"

    def ready(self) -> None:
        # The one place that connects hooks, listeners, tasks and secrets: see recurent/wiring.py.
        from recurent import wiring

        wiring.wire()
