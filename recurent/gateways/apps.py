from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "recurent.gateways"
    verbose_name = "Online payments (Stripe, NETOPIA)"
    # Its issue hook (charges_after_issue), worker tasks (gateways-charges,
    # gateways-expiring-cards), PDF pay link and secrets are listed in recurent/wiring.py.
