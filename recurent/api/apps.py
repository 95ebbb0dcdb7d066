from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "recurent.api"
    default_auto_field = "django.db.models.BigAutoField"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py.
