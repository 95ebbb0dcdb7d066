from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "recurent.documents"

    def ready(self) -> None:
        from recurent.worker import tasks

        from .services import render_pending

        # Documents are rendered by the worker after the invoices are committed.
        tasks.register("documents", render_pending)
