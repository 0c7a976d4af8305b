"""Production settings refuse unsafe values; check --deploy is clean; error pages are Chinese; proxy, CSP."""

from __future__ import annotations

import importlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

import tongxin.settings as project_settings
from tongxin.core import deploy_checks
from tongxin.core.views import server_error

ROOT = Path(settings.BASE_DIR)


def production_env(**overrides: str) -> dict[str, str]:
    """An environment a real deployment would have: strong keys, PostgreSQL, a host name, an SMS gateway."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECURE_HSTS_SECONDS", "SMS_BACKEND", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        TONGXIN_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        PII_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="tongxin.example.gov.cn",
        DATABASE_URL="postgres://tongxin@127.0.0.1:5432/tongxin",
        SMS_BACKEND="tongxin.core.notifications.MemorySMSBackend",
        TRUSTED_PROXIES="127.0.0.1,::1",
        REDIS_URL="redis://127.0.0.1:6379/15",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )


def load_production_settings(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    for key, value in production_env(**overrides).items():
        monkeypatch.setenv(key, value)
    try:
        importlib.reload(project_settings)
    finally:
        for key in production_env():
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def restore_settings_module(monkeypatch: pytest.MonkeyPatch):
    yield
    monkeypatch.setenv("TONGXIN_ENV", "development")
    importlib.reload(project_settings)


UNSAFE = [
    ({"SECRET_KEY": "abc"}, "SECRET_KEY is 3 characters long"),
    ({"SECRET_KEY": deploy_checks.DEVELOPMENT_SECRET_KEY}, "SECRET_KEY is the development key"),
    ({"SECRET_KEY": "a" * 60}, "SECRET_KEY repeats too few characters"),
    ({"PII_KEY": "abc"}, "PII_KEY is 3 characters long"),
    ({"PII_KEY": deploy_checks.DEVELOPMENT_PII_KEY}, "PII_KEY is the development key"),
    ({"PII_KEY": "changeme-changeme-1234567890-abcdefghijk"}, "PII_KEY contains 'changeme'"),
    ({"PII_KEY_ID": "2", "PII_OLD_KEYS": "3:" + "x7Qp" * 12}, "key 1 is in neither PII_OLD_KEYS"),
    ({"DEBUG": "1"}, "DEBUG is on"),
    ({"SMS_BACKEND": deploy_checks.CONSOLE_SMS_BACKEND}, "SMS_BACKEND is the console backend"),
    ({"SMS_BACKEND": ""}, "SMS_BACKEND is empty"),
    ({"SMS_BACKEND": "nonexistent.module.Foo"}, "there is no module 'nonexistent.module'"),
    ({"SMS_BACKEND": "GatewaySMS"}, "is not a dotted path"),
    ({"DATABASE_URL": ""}, "The database is SQLite"),
    ({"REDIS_URL": ""}, "REDIS_URL is not set"),
    ({"SECURE_HSTS_SECONDS": "0"}, "SECURE_HSTS_SECONDS is 0"),
    ({"SECURE_SSL_REDIRECT": "0"}, "SECURE_SSL_REDIRECT is off"),
    ({"TRUSTED_PROXIES": ""}, "TRUSTED_PROXIES is empty"),
    ({"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES has entries that are not addresses"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
    ({"CSRF_TRUSTED_ORIGINS": "http://tongxin.example.gov.cn"}, "is not an https:// origin"),
]


@pytest.mark.parametrize(("overrides", "message"), UNSAFE, ids=[m for _o, m in UNSAFE])
def test_production_refuses_each_unsafe_setting_with_its_own_message(
    monkeypatch, restore_settings_module, overrides, message
):
    # given a production environment that is safe except for one value
    # when the settings are loaded
    with pytest.raises(Exception) as refused:
        load_production_settings(monkeypatch, **overrides)
    # then start-up is refused and the message names the setting and what is wrong
    assert "refuses to start with unsafe settings" in str(refused.value)
    assert message in str(refused.value)
    assert len(str(refused.value).splitlines()) == 2, "only the one unsafe value is reported"


def test_a_safe_production_environment_loads(monkeypatch, restore_settings_module):
    # given a production environment with every setting safe, when the settings load, then they do, with HTTPS on
    load_production_settings(monkeypatch)
    assert project_settings.SECURE_SSL_REDIRECT and project_settings.SECURE_HSTS_SECONDS >= 31536000
    assert project_settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert project_settings.CSRF_TRUSTED_ORIGINS == ["https://tongxin.example.gov.cn"]
    assert project_settings.DATABASES["default"]["CONN_MAX_AGE"] == 60


def test_a_rotated_key_loads_while_key_1_stays_for_the_lookup_hashes(monkeypatch, restore_settings_module):
    # given a production environment after one rotation: key 2 current, key 1 kept among the old keys
    old_key = secrets.token_urlsafe(48)
    # when the settings load, then they do, and key 1 still makes the lookup hashes
    load_production_settings(monkeypatch, PII_KEY_ID="2", PII_OLD_KEYS=f"1:{old_key}")
    old_keys = project_settings.PII_OLD_KEYS
    assert old_keys == {"1": old_key}
    # and naming the lookup key instead of keeping key 1 loads too
    load_production_settings(monkeypatch, PII_KEY_ID="2", PII_OLD_KEYS="", PII_LOOKUP_KEY=old_key)
    lookup_key = project_settings.PII_LOOKUP_KEY
    assert lookup_key == old_key


def test_check_deploy_gives_no_warnings_with_production_settings():
    # given production settings, when `manage.py check --deploy` runs, then it finds nothing
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_manage_refuses_to_start_production_on_sqlite_and_says_why():
    # given production mode without DATABASE_URL, when any command starts
    result = manage("check", env=production_env(DATABASE_URL=""))
    # then it stops with the reasons alone (no traceback to read through)
    assert result.returncode == 2
    assert "The database is SQLite" in result.stderr
    assert result.stderr.startswith(deploy_checks.REFUSAL), result.stderr
    assert "Traceback" not in result.stderr


def test_wsgi_refuses_unsafe_production_settings_with_the_reasons_alone():
    # given production settings with an unsafe value, when gunicorn's worker imports the application
    result = subprocess.run(
        [sys.executable, "-c", "import tongxin.wsgi"],
        env=production_env(DEBUG="1"),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    # then it exits with gunicorn's boot-error status (the master stops) and prints the reasons only
    assert result.returncode == 3
    assert result.stderr.startswith(deploy_checks.REFUSAL) and "DEBUG is on" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_server_does_not_keep_connections_open(monkeypatch, restore_settings_module):
    # given development settings on PostgreSQL (make run), when loaded, then connections close after each request
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tongxin")
    monkeypatch.delenv("CONN_MAX_AGE", raising=False)
    importlib.reload(project_settings)
    assert project_settings.DATABASES["default"]["CONN_MAX_AGE"] == 0


@pytest.mark.django_db
def test_unknown_page_answers_the_chinese_404_page():
    # given an anonymous visitor, when they open an address that does not exist
    response = Client().get("/no-such-page/")
    # then the page is the Chinese one, with the request id to quote
    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body and "Not Found" not in body
    assert response["X-Request-ID"] in body


def test_server_error_page_is_chinese_and_needs_no_database():
    # given a request that failed, when the 500 handler renders (it must not query: the database may be down)
    request = RequestFactory().get("/")
    request.request_id = "abcdef0123456789"
    response = server_error(request)
    # then it is the Chinese page with the request id
    assert response.status_code == 500
    assert "服务器出错了" in response.content.decode() and "abcdef0123456789" in response.content.decode()
    assert settings.ROOT_URLCONF == "tongxin.urls" and importlib.import_module("tongxin.urls").handler500


@pytest.mark.django_db
def test_expired_form_answers_the_chinese_403_page():
    # given a browser whose CSRF cookie is missing, when it posts the sign-in form
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    # then the 403 page says so in Chinese
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


@pytest.mark.django_db
def test_sign_in_behind_a_tls_proxy_passes_the_csrf_check(world, settings):
    # given a browser on https:// talking through nginx (a trusted proxy), which sends X-Forwarded-Proto: https
    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = Client(enforce_csrf_checks=True)
    proxy = {
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_ORIGIN": "https://testserver",
    }
    page = browser.get("/login/", **proxy)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    # when the user signs in
    response = browser.post(
        "/login/",
        {"username": "staff_a", "password": "tongxin-test-pw", "csrfmiddlewaretoken": token},
        **proxy,
    )
    # then the CSRF origin check passes (the request is known to be https) and the user is signed in
    assert response.status_code == 302, response.content.decode()[:300]
    # and without the proxy's header the same https Origin is refused (what the issue found)
    refused = browser.post(
        "/login/",
        {"username": "staff_a", "password": "tongxin-test-pw", "csrfmiddlewaretoken": token},
        HTTP_HOST="testserver",
        HTTP_ORIGIN="https://testserver",
    )
    assert refused.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/no-such-page/", "/api/v1/docs", "/healthz"])
def test_every_response_carries_a_content_security_policy_without_inline_scripts(path):
    # given any page, when it is fetched
    response = Client().get(path)
    # then the policy allows scripts from this site only
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"


def test_no_template_has_an_inline_script_or_event_handler():
    # given every template of the project, when read, then scripts come from files (CSP forbids inline code)
    offenders = []
    for template in (ROOT / "tongxin").rglob("templates/**/*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offenders.append(f"{template}: {tag}")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{template}: inline event handler")
    assert not offenders


def test_tile_server_is_allowed_for_map_images(settings):
    # given an intranet tile server, when the middleware is built, then its origin may serve images
    from tongxin.core.middleware import ContentSecurityPolicyMiddleware

    settings.TILE_URL = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    header = ContentSecurityPolicyMiddleware(lambda r: None).header
    assert "img-src 'self' data: blob: https://tiles.example.gov.cn;" in header


@pytest.mark.django_db
def test_proxy_headers_are_dropped_unless_the_peer_is_a_trusted_proxy(settings):
    # given a client that reaches the app directly (not through nginx) and claims HTTPS and another address
    from django.http import HttpResponse

    from tongxin.core.middleware import TrustedProxyMiddleware

    seen = {}

    def view(request):
        seen.update(secure=request.is_secure(), forwarded=request.META.get("HTTP_X_FORWARDED_FOR"))
        return HttpResponse()

    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    middleware = TrustedProxyMiddleware(view)
    spoof = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "6.6.6.6"}
    # when it sends them, then the app believes neither
    middleware(RequestFactory().get("/", REMOTE_ADDR="192.168.1.20", **spoof))
    assert seen == {"secure": False, "forwarded": None}
    # and the same headers from the proxy (a trusted network) are kept
    middleware(RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", **spoof))
    assert seen == {"secure": True, "forwarded": "6.6.6.6"}
