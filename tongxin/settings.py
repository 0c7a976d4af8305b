"""Tongxin settings: one module, driven by the environment, safe defaults for a laptop.

Production mode (``TONGXIN_ENV=production``) refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``, and
with any setting :mod:`tongxin.core.deploy_checks` finds unsafe (weak keys, DEBUG, the console SMS backend, SQLite,
no HTTPS/HSTS or proxy settings); docs/deploy.md lists every variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from tongxin.core import deploy_checks

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
# Where the laptop database, the task queue file, collected static files and uploads live. A checkout uses
# var/ beside the code; an installed wheel points it elsewhere (the systemd units: /var/lib/tongxin).
VAR_DIR = Path(os.environ.get("TONGXIN_VAR_DIR", str(BASE_DIR / "var")))
ENV = os.environ.get("TONGXIN_ENV", "development")
PRODUCTION = ENV == "production"


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# In production a missing or weak key is refused below, with every other unsafe setting in one message.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and not PRODUCTION:
    SECRET_KEY = deploy_checks.DEVELOPMENT_SECRET_KEY

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]
if not ALLOWED_HOSTS and not PRODUCTION:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# Key for personal data at rest (AES-GCM) and for the keyed lookup hash. Separate from SECRET_KEY so that
# rotating sessions does not make the registry unreadable.
PII_KEY = os.environ.get("PII_KEY", "")
if not PII_KEY and not PRODUCTION:
    PII_KEY = deploy_checks.DEVELOPMENT_PII_KEY

# PII key versions (tongxin.core.pii): PII_KEY is key PII_KEY_ID; older keys, still needed to read values not yet
# re-encrypted by `manage.py rotate_pii_key`, go in PII_OLD_KEYS as "id:secret,id:secret". PII_CIPHER is aes-gcm
# (default) or sm4-gcm (国密); PII_LOOKUP_HASH is hmac-sha256 (default) or hmac-sm3. Lookup hashes use
# PII_LOOKUP_KEY, by default the secret of key id 1 (so rotating PII_KEY does not change them: keep key 1).
PII_KEY_ID = os.environ.get("PII_KEY_ID", "1")
PII_OLD_KEYS = dict(
    item.split(":", 1) for item in os.environ.get("PII_OLD_KEYS", "").split(",") if ":" in item
)
PII_CIPHER = os.environ.get("PII_CIPHER", "aes-gcm")
PII_LOOKUP_HASH = os.environ.get("PII_LOOKUP_HASH", "hmac-sha256")
PII_LOOKUP_KEY = os.environ.get("PII_LOOKUP_KEY", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",  # the API docs use the Swagger UI shipped in the package, not a CDN
    "tongxin.core",
    "tongxin.regions",
    "tongxin.people",
    "tongxin.party",
    "tongxin.accounts",
    "tongxin.ledger",
    "tongxin.cases",
    "tongxin.cases.routing",
    "tongxin.volunteers",
    "tongxin.points",
    "tongxin.sensors",
    "tongxin.notices",
    "tongxin.care",
    "tongxin.doorstep",
    "tongxin.assembly",
    "tongxin.mediation",
    "tongxin.dashboard",
]

MIDDLEWARE = [
    "tongxin.core.middleware.TrustedProxyMiddleware",  # proxy headers only from TRUSTED_PROXIES
    "tongxin.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # static files under gunicorn when no nginx serves /static/ (nginx answers them first when it is there)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tongxin.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "tongxin.core.api.ApiInputGuard",  # /api/: control characters, multipart framing, sizes -> the one error body
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tongxin.core.middleware.RequestContextMiddleware",
    "tongxin.core.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tongxin.urls"
WSGI_APPLICATION = "tongxin.wsgi.application"
ASGI_APPLICATION = "tongxin.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongxin.accounts.context_processors.navigation",
            ],
        },
    },
]


def database_from_url(url: str) -> dict:
    """Parse ``postgres://user:pass@host:port/name`` (the only server database we support)."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use postgres://)"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "tongxin",
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or 5432),
        # Persistent connections only where a fixed pool of processes holds them (gunicorn's workers). The
        # development server starts a thread per request, and each thread would keep its own connection open:
        # 20 concurrent clients held 98 of PostgreSQL's 100. So 0 (close after each request) unless production.
        "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60" if PRODUCTION else "0")),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_tongxin")},
    }


DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "tongxin.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# A PostgreSQL streaming replica for read traffic (dashboards, exports, rates): tongxin/core/replica.py. In tests
# the alias mirrors the test database (Django's TEST MIRROR replaces only NAME: the alias keeps the standby's host
# and port and reads the test database replicated from the primary; `make test-replica` starts such a standby).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL and IS_POSTGRES:
    DATABASES["replica"] = database_from_url(DATABASE_REPLICA_URL)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["tongxin.core.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["tongxin.core.auth.LockoutModelBackend"]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

# Reverse proxies whose X-Forwarded-For (client address) and X-Forwarded-Proto (HTTPS) are believed (addresses or
# CIDRs, comma-separated, e.g. "127.0.0.1,::1" for nginx on the same host). Empty: the headers are ignored and the
# peer address is the client (audit log, lockout). Production refuses to start with it empty (docs/deploy.md).
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()]
# Audit rows are kept at least this long (网络安全法: 6 months); `manage.py archive_audit` moves older ones out.
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "400"))
# Where `manage.py archive_audit` writes its compressed exports (keep them; they are the audit trail). Under
# TONGXIN_VAR_DIR, never beside the code: an installed package's folder is not writable by the app.
AUDIT_ARCHIVE_DIR = Path(os.environ.get("AUDIT_ARCHIVE_DIR", str(VAR_DIR / "audit-archive")))

# Repeated failed logins lock that user name *from that address* for a while (a stranger elsewhere cannot lock
# the real user out); after LOGIN_CAPTCHA_AFTER failures from an address, or LOGIN_NAME_CAPTCHA_AFTER for a name
# from anywhere, a captcha is asked too.
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))
LOGIN_CAPTCHA_AFTER = int(os.environ.get("LOGIN_CAPTCHA_AFTER", "3"))
LOGIN_NAME_CAPTCHA_AFTER = int(os.environ.get("LOGIN_NAME_CAPTCHA_AFTER", "10"))
# SMS codes: per number (OTP_MAX_PER_HOUR in accounts/otp.py), per address and for the whole site per hour.
OTP_MAX_PER_IP_HOUR = int(os.environ.get("OTP_MAX_PER_IP_HOUR", "10"))
OTP_GLOBAL_PER_HOUR = int(os.environ.get("OTP_GLOBAL_PER_HOUR", "1000"))
OTP_CAPTCHA_AFTER = int(os.environ.get("OTP_CAPTCHA_AFTER", "2"))
# Case intake from residents and the public (app, suggestion box, Open311, API) per user or address per hour.
CASES_INTAKE_PER_HOUR = int(os.environ.get("CASES_INTAKE_PER_HOUR", "20"))
# Staff sessions end after this long without a request.
STAFF_IDLE_SECONDS = int(os.environ.get("STAFF_IDLE_SECONDS", "1800"))
SESSION_COOKIE_AGE = 14 * 24 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# HTTPS. In production every plain-HTTP request is redirected and browsers are told (HSTS) to use HTTPS only; the
# health check and metrics stay reachable over plain HTTP on loopback for monitoring.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# TRUSTED_PROXIES (above) are the only peers whose X-Forwarded-For / X-Forwarded-Proto are believed:
# TrustedProxyMiddleware drops those headers from anyone else. Production requires the list (nginx on the same
# host: 127.0.0.1,::1, as deploy/tongxin.env.example sets it); empty in development (no proxy).
# gunicorn listens on loopback only (deploy/gunicorn.conf.py), so every request with this header came through
# the proxy, which overwrites it (deploy/nginx/tongxin.conf): without it, logins behind nginx fail the CSRF check.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
# Origins (scheme://host[:port]) allowed to POST forms: by default https:// and each of ALLOWED_HOSTS.
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
] or [f"https://{h.lstrip('.')}" for h in ALLOWED_HOSTS if "*" not in h and h != "testserver"]

# Content-Security-Policy on every response (tongxin.core.middleware.ContentSecurityPolicyMiddleware): scripts,
# styles and images only from this site (no inline scripts: page code lives in static/*.js), plus the map tile
# server when TILE_URL names one. Style attributes are allowed (templates set widths of bars and charts inline).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS: list = [PACKAGE_DIR / "static"]
# The front-end packages (htmx, leaflet, chart.js) come from npm: node_modules in a checkout, or the copy that
# `make wheel` puts inside the package (tongxin/vendor_static) for an installed wheel.
_node_modules = BASE_DIR / "node_modules"
if _node_modules.is_dir():
    STATICFILES_DIRS.append(("vendor", _node_modules))
elif (PACKAGE_DIR / "vendor_static").is_dir():
    STATICFILES_DIRS.append(("vendor", PACKAGE_DIR / "vendor_static"))
# Collected static files are public (nginx serves them to anyone): readable by all, unlike uploads (below, whose
# FILE_UPLOAD_* modes every FileSystemStorage would otherwise take).
_PUBLIC_FILES = {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755}
STORAGES = {
    # uploads: 0640 files in 0750 folders that keep MEDIA_ROOT's setgid group (tongxin.core.files.UploadStorage)
    "default": {"BACKEND": "tongxin.core.files.UploadStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "OPTIONS": _PUBLIC_FILES,
    },
}
if PRODUCTION:
    # hashed, compressed copies made by collectstatic; whitenoise serves them with far-future cache headers
    STORAGES["staticfiles"] = {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "OPTIONS": _PUBLIC_FILES,
    }
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploaded files that need authorisation (case photos) are never served from MEDIA_URL by the web server. A view
# checks access and answers with tongxin.core.files.protected_file_response: with nginx in front it hands the
# file over by X-Accel-Redirect to this internal location (deploy/nginx/tongxin.conf: `location /protected/
# { internal; alias MEDIA_ROOT/; }`); empty (no nginx) streams the file from Python.
PROTECTED_MEDIA_ACCEL = os.environ.get("PROTECTED_MEDIA_ACCEL", "")
# Uploads are readable by their group and no one else, whatever the process's umask: nginx reads them for
# X-Accel-Redirect through that group (docs/deploy.md: MEDIA_ROOT belongs to group www-data with the setgid bit, so
# every folder made under it inherits the group), and other local users cannot.
# (Folders: tongxin.core.files.UploadStorage; FILE_UPLOAD_DIRECTORY_PERMISSIONS would clear the setgid bit.)
FILE_UPLOAD_PERMISSIONS = 0o640
# Files only the app reads (uploaded import files until their import ends): never under MEDIA_ROOT, never served.
PRIVATE_ROOT = Path(os.environ.get("PRIVATE_ROOT", str(VAR_DIR / "private")))
# Files under PRIVATE_ROOT (and uploads left under MEDIA_ROOT/imports by older releases) older than this many days
# are deleted every night, except those an unfinished import still needs (`manage.py purge_private_files`).
PRIVATE_FILE_RETENTION_DAYS = int(os.environ.get("PRIVATE_FILE_RETENTION_DAYS", "7"))
# Imports of at least this many rows check id numbers and phones in two processes (docs/import.md); 0: off
IMPORT_PARALLEL_MIN_ROWS = int(os.environ.get("IMPORT_PARALLEL_MIN_ROWS", "100000"))

REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
# The worker's schedules (crontab) are read in Beijing time: huey compares them with its clock, which is UTC
# unless ``utc`` is off; with it off the clock is the process's local time, which Django sets to TIME_ZONE
# (Asia/Shanghai) at start-up. So the nightly jobs (03:20 ...) run at night in China, not at 11:20.
HUEY_UTC = False
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "tongxin",
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "utc": HUEY_UTC,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tongxin",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "utc": HUEY_UTC,
    }

# One cache for every app server when REDIS_URL is set: abuse limits (tongxin.core.throttle), scope, the
# per-process memos' generations (tongxin.core.memo), and sessions read from it with the database behind
# (cached_db: a Redis restart signs nobody out). Otherwise this process's memory (development, tests).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL", REDIS_URL),
            "KEY_PREFIX": "tongxin",
            "TIMEOUT": 300,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tongxin"}}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tongxin@localhost")
SMS_BACKEND = os.environ.get("SMS_BACKEND", "tongxin.core.notifications.ConsoleSMSBackend")

# Who is on duty for round-robin dispatch and claiming: a dotted path to ``f(category, grid) -> list[User]``
# provided by the participation app (duty rosters); empty means the category's own handler list.
CASES_ON_DUTY_PROVIDER = os.environ.get("CASES_ON_DUTY_PROVIDER", "tongxin.volunteers.duty.on_duty_users")

# Map tiles for the grid map (一图), e.g. an intranet tile server "https://tiles.example/{z}/{x}/{y}.png";
# empty means a blank base layer with the grid polygons only (no outside network).
TILE_URL = os.environ.get("TILE_URL", "")
TILE_ATTRIBUTION = os.environ.get("TILE_ATTRIBUTION", "")

# Smart-community sensors (docs/sensors.md): the MQTT broker the subscriber reads, the topic prefix gateways
# publish under, and the ingestion limits. ``make run`` starts the subscriber only when the broker answers.
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
# The subscriber's MQTT client id names its persistent session on the broker: one per deployment.
MQTT_CLIENT_ID = os.environ.get("MQTT_CLIENT_ID", "tongxin-sensor-ingest")
SENSORS_TOPIC_PREFIX = os.environ.get("SENSORS_TOPIC_PREFIX", "tongxin/sensors")
# Readings stamped further ahead than this (device clock running fast) are refused as clock skew.
SENSORS_MAX_FUTURE_SECONDS = int(os.environ.get("SENSORS_MAX_FUTURE_SECONDS", "300"))
# Readings older than this (a gateway replaying its buffer) are refused: the alerts they would raise are stale.
SENSORS_MAX_AGE_DAYS = int(os.environ.get("SENSORS_MAX_AGE_DAYS", "30"))
# Monthly partitions of the readings table kept (older ones are dropped by the nightly task; 0 keeps all).
SENSORS_RETENTION_MONTHS = int(os.environ.get("SENSORS_RETENTION_MONTHS", "0"))

# Admin division code used when a subdistrict has none (仙桃市 429004).
DEFAULT_ADMIN_DIVISION = os.environ.get("DEFAULT_ADMIN_DIVISION", "429004")

# Operations (docs/operations.md): /metrics answers loopback callers that did not come through the proxy, or a
# caller sending "Authorization: Bearer METRICS_TOKEN". The worker's heartbeat older than this fails /healthz.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
HEALTHZ_WORKER_STALE_SECONDS = int(os.environ.get("HEALTHZ_WORKER_STALE_SECONDS", "180"))

# Logs go to stderr (the systemd journal). LOG_FORMAT=json (the production default) writes one JSON object per
# line with the request id that RequestIdMiddleware gives each request (and returns as X-Request-ID).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tongxin.core.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "tongxin.core.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "tongxin": {"level": os.environ.get("LOG_LEVEL", "INFO")},
        # The worker (run_huey) adds a plain-text handler of its own to "huey" unless one is configured here:
        # every message would be written twice, once not as JSON.
        "huey": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO"), "propagate": False},
    },
}

if PRODUCTION:
    _unsafe = deploy_checks.unsafe_settings(globals())
    if _unsafe:
        raise ImproperlyConfigured(deploy_checks.REFUSAL + "\n- " + "\n- ".join(_unsafe))

for _dir in (VAR_DIR,) if PRODUCTION else (VAR_DIR, STATIC_ROOT):
    _dir.mkdir(parents=True, exist_ok=True)
