"""Settings shared by every environment. Environment parsing fails loudly on a bad value."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected true/false")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None


def data_dir() -> Path:
    """Where the embedded database and documents live (RECURENT_DATA_DIR or the user data folder)."""
    explicit = os.environ.get("RECURENT_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "recurent"


DATA_DIR = data_dir()
DEFAULT_SQLITE_PATH = DATA_DIR / "recurent.sqlite3"


def database_from_env() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    try:
        db = dj_database_url.parse(url, conn_max_age=0)
    except Exception as e:  # dj_database_url raises plain ValueError/KeyError on junk
        raise ImproperlyConfigured(f"DATABASE_URL: cannot parse ({e})") from None
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if db["NAME"] != ":memory:":
            Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        db["OPTIONS"] = {
            # IMMEDIATE: a writer takes the lock at BEGIN, so two billing runs serialise
            # instead of failing with "database is locked" at their first write.
            "transaction_mode": "IMMEDIATE",
            "timeout": 60,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    elif db["ENGINE"] == "django.db.backends.postgresql":
        opts = db.setdefault("OPTIONS", {})
        # TCP keepalives (libpq): a server or a network that is gone is noticed in about a
        # minute instead of the system's ~2 hours (recurent/common/dbsession.py).
        opts.setdefault("keepalives", 1)
        opts.setdefault("keepalives_idle", env_int("RECURENT_DB_KEEPALIVES_IDLE", 30))
        opts.setdefault("keepalives_interval", env_int("RECURENT_DB_KEEPALIVES_INTERVAL", 10))
        opts.setdefault("keepalives_count", env_int("RECURENT_DB_KEEPALIVES_COUNT", 3))
        opts.setdefault("tcp_user_timeout", 1000 * env_int("RECURENT_DB_TCP_USER_TIMEOUT", 60))
    db["ATOMIC_REQUESTS"] = False
    return dict(db)


SECRET_KEY = os.environ.get("RECURENT_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = [
    h for h in os.environ.get("RECURENT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "recurent.common",
    "recurent.companies",
    "recurent.catalog",
    "recurent.clients",
    "recurent.contracts",
    "recurent.rates",
    "recurent.invoices",
    "recurent.documents",
    "recurent.efactura",
    "recurent.mail",
    "recurent.payments",
    "recurent.accounting",
    "recurent.ops",
    "recurent.portal",
    "recurent.gateways",
    "recurent.api",
    "recurent.web",
    "recurent.worker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Romanian unless the user chose otherwise: a browser's Accept-Language is not a choice.
    "recurent.web.middleware.IgnoreAcceptLanguage",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # SQLite: a person's write goes between two blocks of a billing run (common/writer_turn.py).
    "recurent.web.middleware.WriterTurn",
]

ROOT_URLCONF = "recurent.urls"
WSGI_APPLICATION = "recurent.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ]
        },
    }
]

DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ro"
LANGUAGES = [("ro", "Română"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Bucharest"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("RECURENT_STATIC_ROOT", DATA_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("RECURENT_MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "/media/"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# Billing engine knobs.
RECURENT: dict[str, Any] = {
    # Invoices written per transaction by the worker (a crash rolls back a whole block);
    # 1000 measured ~15% faster than 200 (docs/benchmarks/billing.md). On SQLite a person's
    # write waits for the block under way (common/writer_turn.py): 250 keeps that wait under
    # 250 ms at the 99th percentile, the run's speed within the noise (same page).
    "BATCH_SIZE": env_int(
        "RECURENT_BATCH_SIZE",
        250 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 1000,
    ),
    # Longest the worker sleeps before looking again (new contracts, fixed ones).
    "WORKER_MAX_SLEEP": env_int("RECURENT_WORKER_MAX_SLEEP", 60),
    # A BNR rate older than this many days is not used (the invoice waits instead).
    "FX_MAX_AGE_DAYS": env_int("RECURENT_FX_MAX_AGE_DAYS", 7),
    # A real billing run may be dated at most this many seconds after this machine's clock
    # (another machine's clock may run a little ahead); later instants are for previews only.
    "CLOCK_TOLERANCE_SECONDS": env_int("RECURENT_CLOCK_TOLERANCE_SECONDS", 300),
    "BNR_URL": os.environ.get("RECURENT_BNR_URL", "https://curs.bnr.ro/nbrfxrates.xml"),
    "PUBLIC_URL": os.environ.get("RECURENT_PUBLIC_URL", "http://127.0.0.1:8000"),
    "BNR_YEAR_URL": os.environ.get(
        "RECURENT_BNR_YEAR_URL", "https://curs.bnr.ro/files/xml/years/nbrfxrates{year}.xml"
    ),
}

# Logs: plain lines, or one JSON object per line (RECURENT_LOG_FORMAT=json); either way IBANs,
# CNPs, tokens and passwords are masked in every line (recurent.ops.logs).
RECURENT_LOG_FORMAT = os.environ.get("RECURENT_LOG_FORMAT", "plain")
if RECURENT_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(
        f"RECURENT_LOG_FORMAT={RECURENT_LOG_FORMAT!r}: expected plain or json"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "recurent.ops.logs.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
        "json": {"()": "recurent.ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": RECURENT_LOG_FORMAT}},
    "loggers": {
        "recurent": {
            "handlers": ["console"],
            "level": os.environ.get("RECURENT_LOG_LEVEL", "INFO"),
        },
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# Media (company logos): on this machine's disk (RECURENT_MEDIA_ROOT), or in an S3-compatible
# bucket (AWS S3, MinIO, Ceph, Hetzner/OVH/Scaleway object storage) for several web machines.
# Issued documents themselves live in the database, with the invoices.
RECURENT_MEDIA_STORAGE = os.environ.get("RECURENT_MEDIA_STORAGE", "file")


def media_storage() -> dict[str, Any]:
    """The STORAGES["default"] entry for RECURENT_MEDIA_STORAGE (file or s3)."""
    if RECURENT_MEDIA_STORAGE == "file":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if RECURENT_MEDIA_STORAGE != "s3":
        raise ImproperlyConfigured(
            f"RECURENT_MEDIA_STORAGE={RECURENT_MEDIA_STORAGE!r}: expected file or s3"
        )
    bucket = os.environ.get("RECURENT_S3_BUCKET", "")
    if not bucket:
        raise ImproperlyConfigured(
            "RECURENT_S3_BUCKET: give the bucket for RECURENT_MEDIA_STORAGE=s3"
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            # Empty: AWS itself; else the provider's address (https://s3.example.net).
            "endpoint_url": os.environ.get("RECURENT_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("RECURENT_S3_REGION") or None,
            "access_key": os.environ.get("RECURENT_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("RECURENT_S3_SECRET_KEY") or None,
            "location": os.environ.get("RECURENT_S3_PREFIX", "media"),
            # Private objects, read through signed URLs that expire; never overwritten.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 600,
            "file_overwrite": False,
        },
    }


STORAGES = {
    "default": media_storage(),
    # Production (prod.py) serves hashed, compressed copies made by collectstatic.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# /metrics: a scrape sends "Authorization: Bearer <token>"; unset, only loopback may scrape.
RECURENT_METRICS_TOKEN = os.environ.get("RECURENT_METRICS_TOKEN", "")
# /readyz: a worker must have beaten within this many seconds, the oldest due email be younger.
RECURENT_READY_WORKER_MAX_AGE = env_int("RECURENT_READY_WORKER_MAX_AGE", 600)
RECURENT_READY_OUTBOX_MAX_AGE = env_int("RECURENT_READY_OUTBOX_MAX_AGE", 3600)

RECURENT_PUBLIC_URL = os.environ.get("RECURENT_PUBLIC_URL", "http://127.0.0.1:8000")

# Session timeouts of the processes that bill (worker, bill), in seconds; 0 switches one off.
# A partitioned worker's transaction ends after IDLE_IN_TRANSACTION, so the others go on
# (recurent/common/dbsession.py; docs/guide-owner.md, "Limits and timeouts").
RECURENT_DB_TIMEOUTS = {
    "LOCK": env_int("RECURENT_DB_LOCK_TIMEOUT", 30),
    "IDLE_IN_TRANSACTION": env_int("RECURENT_DB_IDLE_IN_TRANSACTION_TIMEOUT", 30),
    "STATEMENT": env_int("RECURENT_DB_STATEMENT_TIMEOUT", 300),
}

# Webhook endpoints must be public internet addresses (no SSRF into the server's network);
# set to true only for a closed installation that posts to its own internal systems.
RECURENT_WEBHOOKS_ALLOW_PRIVATE = env_bool("RECURENT_WEBHOOKS_ALLOW_PRIVATE", False)

# Login throttling (django-axes): after RECURENT_LOGIN_FAILURE_LIMIT wrong passwords for one
# account, or from one address, logging in is refused for RECURENT_LOGIN_LOCKOUT_MINUTES (a
# right password included); a success clears the count. An administrator unlocks earlier from
# the users page or with `recurent axes_reset_username NAME` / `recurent axes_reset_ip ADDRESS`.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = env_int("RECURENT_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("RECURENT_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: account or address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "recurent.web.views.account.locked_out"
AXES_VERBOSE = False
# The client's address is REMOTE_ADDR unless the installation says how many proxies it sits
# behind (then the X-Forwarded-For entry they added): a forged header must not dodge the count,
# and behind a proxy every visitor must not share the proxy's address.
RECURENT_PROXY_COUNT = env_int("RECURENT_PROXY_COUNT", 0)
if RECURENT_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = RECURENT_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# The application's own messages (invitations, password resets) leave through this server when
# RECURENT_EMAIL_HOST is set, else through the company's own SMTP settings (recurent.web.appmail).
EMAIL_HOST = os.environ.get("RECURENT_EMAIL_HOST", "")
EMAIL_PORT = env_int("RECURENT_EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("RECURENT_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("RECURENT_EMAIL_PASSWORD", "")
_email_security = os.environ.get("RECURENT_EMAIL_SECURITY", "starttls").lower()
if _email_security not in {"starttls", "ssl", "none"}:
    raise ImproperlyConfigured(
        f"RECURENT_EMAIL_SECURITY={_email_security!r}: expected starttls, ssl or none"
    )
EMAIL_USE_TLS = _email_security == "starttls"
EMAIL_USE_SSL = _email_security == "ssl"
EMAIL_TIMEOUT = env_int("RECURENT_EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("RECURENT_EMAIL_FROM", "recurent@localhost")

# Content-Security-Policy on every answer (recurent/common/csp.py): own scripts only.
MIDDLEWARE.insert(1, "recurent.common.csp.ContentSecurityPolicyMiddleware")
