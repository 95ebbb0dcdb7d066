from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "recurent.ops"
    label = "ops"
    verbose_name = "Operations (health, metrics, backups)"
