"""Tongxin settings: one module, driven by the environment, safe defaults for a laptop.

Production mode (``TONGXIN_ENV=production``) refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ.get("TONGXIN_ENV", "development")
PRODUCTION = ENV == "production"


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when TONGXIN_ENV=production")
    SECRET_KEY = "tongxin-development-only-key-not-for-production-use-0123456789"

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]
if not ALLOWED_HOSTS:
    if PRODUCTION:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when TONGXIN_ENV=production")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# Key for personal data at rest (AES-GCM) and for the keyed lookup hash. Separate from SECRET_KEY so that
# rotating sessions does not make the registry unreadable.
PII_KEY = os.environ.get("PII_KEY", "")
if not PII_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("PII_KEY must be set when TONGXIN_ENV=production")
    PII_KEY = "dev-pii-key-0000000000000000000000000000000000000000000000000000"

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
    "django.middleware.security.SecurityMiddleware",
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
        "DIRS": [BASE_DIR / "tongxin" / "templates"],
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
        "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
        "TEST": {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_tongxin")},
    }


DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "var" / "tongxin.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# A PostgreSQL streaming replica for read traffic (dashboards, exports, rates): tongxin/core/replica.py. In tests
# the alias mirrors the test database (Django's TEST MIRROR), so the same tests pass with or without it.
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

# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated, e.g.
# "127.0.0.1,10.0.0.0/8"). Empty: the header is ignored and the peer address is the client (audit log, lockout).
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()]
# Audit rows are kept at least this long (网络安全法: 6 months); `manage.py archive_audit` moves older ones out.
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "400"))
# Where `manage.py archive_audit` writes its compressed exports (keep them; they are the audit trail).
AUDIT_ARCHIVE_DIR = Path(os.environ.get("AUDIT_ARCHIVE_DIR", str(BASE_DIR / "var" / "audit-archive")))

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

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS: list = [BASE_DIR / "tongxin" / "static"]
_node_modules = BASE_DIR / "node_modules"
if _node_modules.is_dir():
    STATICFILES_DIRS.append(("vendor", _node_modules))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Files only the app reads (uploaded import files until their import ends): never under MEDIA_ROOT, never served.
PRIVATE_ROOT = Path(os.environ.get("PRIVATE_ROOT", str(BASE_DIR / "var" / "private")))

REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
# The worker's schedules (crontab) are read in Beijing time: huey compares them with its clock, which is UTC
# unless ``utc`` is off; with it off the clock is the process's local time, which Django sets to TIME_ZONE
# (Asia/Shanghai) at start-up. So the nightly jobs (03:20 ...) run at night in China, not at 11:20.
HUEY_UTC = False
if REDIS_URL:
    # One cache for every app server (scope, category lookups, rate limits), and sessions read from it with the
    # database behind (cached_db: a Redis restart signs nobody out).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tongxin",
            "TIMEOUT": 300,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
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
        "filename": str(BASE_DIR / "var" / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "utc": HUEY_UTC,
    }

# Abuse limits (tongxin.core.throttle) count in the cache: Redis when REDIS_URL is set, so every process shares
# the counts; otherwise this process's memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL", REDIS_URL),
            "KEY_PREFIX": "tongxin",
        }
    }
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"tongxin": {"level": os.environ.get("LOG_LEVEL", "INFO")}},
}

for _dir in (BASE_DIR / "var",):
    _dir.mkdir(exist_ok=True)
