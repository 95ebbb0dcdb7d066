from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "recurent.common"
