from .base import *  # noqa: F403
from .base import media_storage

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": media_storage(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Static files straight from the apps (no collectstatic in tests); the root only has to exist.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = BASE_DIR.parent / "test-output" / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# The webhook tests post to receivers on 127.0.0.1 (tests/api/test_webhooks.py checks the refusal
# with this switched off).
RECURENT_WEBHOOKS_ALLOW_PRIVATE = True

# The suite bills "as of" fixed calendar dates, some of them after today (time travel through
# as_of, which real runs refuse past now + the clock tolerance). The refusal itself is tested
# with the production default in tests/core/test_hardening_future.py.
RECURENT["CLOCK_TOLERANCE_SECONDS"] = 100 * 366 * 86400  # noqa: F405
