from django.apps import AppConfig


class EfacturaConfig(AppConfig):
    name = "recurent.efactura"
    verbose_name = "e-Factura (ANAF SPV)"
    # Its issue hooks, listeners and worker tasks are listed in recurent/wiring.py.
