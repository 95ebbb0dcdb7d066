"""Local use: the README's run command. Not for a public server (see prod)."""

from .base import *  # noqa: F403
from .base import DATA_DIR

DEBUG = True
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# A per-installation key kept next to the embedded database, so sessions survive restarts.
_key_file = DATA_DIR / "secret_key"
if not _key_file.exists():
    import secrets

    _key_file.parent.mkdir(parents=True, exist_ok=True)
    _key_file.write_text(secrets.token_urlsafe(50))
    _key_file.chmod(0o600)
SECRET_KEY = _key_file.read_text().strip()
