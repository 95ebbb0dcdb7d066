from django.apps import AppConfig


class EfacturaConfig(AppConfig):
    name = "recurent.efactura"
