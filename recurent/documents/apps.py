from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "recurent.documents"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py.
