# The API fixtures (bearer tokens for the company of `world`) and the fault tests' databases.
from tests.api.conftest import admin_api, viewer_api  # noqa: F401
from tests.faults.conftest import databases  # noqa: F401
