from django.urls import path

from .main import api, docs_asset

app_name = "api"
urlpatterns = [
    path("v1/docs/assets/<str:name>", docs_asset, name="docs-asset"),
    path("v1/", api.urls),
]
