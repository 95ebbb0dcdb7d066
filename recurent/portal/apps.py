from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "recurent.portal"
