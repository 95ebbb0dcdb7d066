# The API fixtures (a bearer token for the company of `world`).
from tests.api.conftest import admin_api  # noqa: F401
