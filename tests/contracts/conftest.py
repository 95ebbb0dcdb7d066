# The API fixtures (bearer tokens for the company of `world`).
from tests.api.conftest import admin_api, viewer_api  # noqa: F401
