"""Settings a production deployment must not start with (``TONGXIN_ENV=production``).

``tongxin/settings.py`` calls :func:`unsafe_settings` with its own namespace once every setting is computed and
refuses to start when the list is not empty: each entry names the setting, what is wrong and how to fix it, so an
operator reading the systemd journal knows what to change. Kept free of Django imports: it runs while the
settings module itself is being loaded.
"""

from __future__ import annotations

import importlib.util
import ipaddress
from collections.abc import Mapping
from typing import Any

# The keys written in settings.py for laptops: anything derived from them is public.
DEVELOPMENT_SECRET_KEY = "tongxin-development-only-key-not-for-production-use-0123456789"
DEVELOPMENT_PII_KEY = "dev-pii-key-0000000000000000000000000000000000000000000000000000"
CONSOLE_SMS_BACKEND = "tongxin.core.notifications.ConsoleSMSBackend"

MIN_SECRET_KEY_LENGTH = 50
MIN_PII_KEY_LENGTH = 32
# Fewer distinct characters than this is a typed pattern ("aaaa…", "0123…"), not a random key.
MIN_DISTINCT_CHARACTERS = 10
MIN_HSTS_SECONDS = 31536000  # one year, what check --deploy and browsers' preload lists expect
# Words of placeholders (long enough that a random key does not contain one by chance).
WEAK_MARKERS = ("development", "insecure", "changeme", "example", "password", "placeholder")

# The first line of the refusal; tongxin.cli and tongxin.wsgi print the refusal alone, without a traceback.
REFUSAL = "TONGXIN_ENV=production refuses to start with unsafe settings (docs/deploy.md):"

GENERATE = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


def weak_key(value: str, *, minimum: int, development: str) -> str:
    """Why ``value`` is not a key to trust in production ("" when it is)."""
    if not value:
        return "is not set"
    if value == development:
        return "is the development key written in settings.py (public in the source code)"
    if len(value) < minimum:
        return f"is {len(value)} characters long; at least {minimum} random characters are needed"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return "repeats too few characters to be random"
    lowered = value.lower()
    for marker in WEAK_MARKERS:
        if marker in lowered:
            return f"contains {marker!r}: it looks like a placeholder, not a generated key"
    return ""


def valid_networks(
    entries: list[str],
) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], list[str]]:
    """Parse ``TRUSTED_PROXIES`` entries (addresses or CIDR networks); returns (networks, unparseable)."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    bad: list[str] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            bad.append(entry)
    return networks, bad


def sms_backend_problem(path: str) -> str:
    """Why ``SMS_BACKEND`` cannot be a production gateway ("" when it can). Looks the module up without importing
    it (this runs while the settings load); the class itself is checked by ``manage.py check``."""
    fix = (
        "Set SMS_BACKEND to the dotted path of the SMS gateway's class, e.g. gateway.GatewaySMS with"
        " PYTHONPATH=/opt/tongxin/site (docs/deploy.md, 'The SMS gateway')."
    )
    if not path.strip():
        return f"SMS_BACKEND is empty: sign-in codes and SMS notifications could not be sent. {fix}"
    if path == CONSOLE_SMS_BACKEND:
        return (
            "SMS_BACKEND is the console backend, which writes full phone numbers and sign-in codes to the log."
            f" {fix}"
        )
    module, _, name = path.strip().rpartition(".")
    if not module or not name.isidentifier():
        return f"SMS_BACKEND {path!r} is not a dotted path module.Class. {fix}"
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return (
            f"SMS_BACKEND {path!r}: there is no module {module!r} (misspelt, or its folder is not on PYTHONPATH)."
            f" {fix}"
        )
    return ""


def unsafe_settings(s: Mapping[str, Any]) -> list[str]:
    """Every reason the settings in ``s`` (a settings module's namespace) are unsafe for production."""
    problems: list[str] = []
    if not s.get("ALLOWED_HOSTS"):
        problems.append(
            "ALLOWED_HOSTS is not set: name the host names users type, e.g. ALLOWED_HOSTS=tongxin.example.gov.cn"
        )
    why = weak_key(s.get("SECRET_KEY", ""), minimum=MIN_SECRET_KEY_LENGTH, development=DEVELOPMENT_SECRET_KEY)
    if why:
        problems.append(f"SECRET_KEY {why}. Generate one with: {GENERATE}")
    why = weak_key(s.get("PII_KEY", ""), minimum=MIN_PII_KEY_LENGTH, development=DEVELOPMENT_PII_KEY)
    if why:
        problems.append(
            f"PII_KEY {why}. It encrypts the registry's personal data: generate one with {GENERATE} and keep it"
            " as docs/operations.md ('Key custody') says — losing it loses every encrypted field."
        )
    key_id = str(s.get("PII_KEY_ID") or "1")
    if key_id != "1" and not s.get("PII_LOOKUP_KEY") and "1" not in (s.get("PII_OLD_KEYS") or {}):
        problems.append(
            f"PII_KEY_ID is {key_id} but key 1 is in neither PII_OLD_KEYS nor PII_LOOKUP_KEY: the lookup hashes"
            " (finding a person by id number or phone) are made with key 1, and without it every search would"
            " silently find nobody. Keep 1:<key 1> in PII_OLD_KEYS (docs/operations.md, 'Rotation')."
        )
    if s.get("DEBUG"):
        problems.append(
            "DEBUG is on: it shows settings and stack traces to visitors. Unset DEBUG (or DEBUG=0)."
        )
    why = sms_backend_problem(str(s.get("SMS_BACKEND") or ""))
    if why:
        problems.append(why)
    engine = s.get("DATABASES", {}).get("default", {}).get("ENGINE", "")
    if not engine.endswith("postgresql"):
        problems.append(
            "The database is SQLite (DATABASE_URL is not set). Production runs on PostgreSQL:"
            " DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/NAME"
        )
    if not s.get("REDIS_URL"):
        problems.append(
            "REDIS_URL is not set: the app processes would share no cache — each would count sign-in failures"
            " and SMS limits on its own and honour a revoked API token for up to a minute — and the task queue"
            " would be a local file. REDIS_URL=redis://127.0.0.1:6379/0"
        )
    if not s.get("SECURE_SSL_REDIRECT"):
        problems.append(
            "SECURE_SSL_REDIRECT is off: plain-HTTP requests would be served. Unset it (default on)."
        )
    if int(s.get("SECURE_HSTS_SECONDS") or 0) < MIN_HSTS_SECONDS:
        problems.append(
            f"SECURE_HSTS_SECONDS is {s.get('SECURE_HSTS_SECONDS')}: browsers must be told to use HTTPS for at"
            f" least a year. Unset it (default {MIN_HSTS_SECONDS})."
        )
    if not s.get("SESSION_COOKIE_SECURE") or not s.get("CSRF_COOKIE_SECURE"):
        problems.append("Session and CSRF cookies must be Secure (HTTPS only) in production.")
    proxies = s.get("TRUSTED_PROXIES") or []
    _networks, bad = valid_networks(list(proxies))
    if bad:
        problems.append(f"TRUSTED_PROXIES has entries that are not addresses or networks: {', '.join(bad)}")
    if not proxies:
        problems.append(
            "TRUSTED_PROXIES is empty: name the reverse proxy's address (nginx on the same host: 127.0.0.1,::1)."
        )
    if proxies and s.get("SECURE_PROXY_SSL_HEADER") is None:
        problems.append(
            "SECURE_PROXY_SSL_HEADER is not set: behind nginx every request looks like plain HTTP and sign-ins"
            " fail the CSRF check. Leave TRUSTED_PROXIES set (the header is then X-Forwarded-Proto)."
        )
    for origin in s.get("CSRF_TRUSTED_ORIGINS") or []:
        if not origin.startswith("https://"):
            problems.append(f"CSRF_TRUSTED_ORIGINS entry {origin!r} is not an https:// origin.")
    return problems
