from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "recurent.documents"
