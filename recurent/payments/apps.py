from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "recurent.payments"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py.
