from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "recurent.mail"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py.
