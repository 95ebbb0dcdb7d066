"""A minimal URLconf for the mail tests: the portal link's route only, so that these tests
do not depend on every other app's URLs importing cleanly while they are being built."""

from django.http import HttpResponse
from django.urls import include, path

portal = (
    [path("portal/<str:token>/", lambda r, token: HttpResponse(token), name="home")],
    "portal",
)
urlpatterns = [path("", include(portal))]
