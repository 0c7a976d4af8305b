"""/healthz, /metrics, request ids in JSON logs, and protected files through X-Accel-Redirect."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from tongxin.core import worker
from tongxin.core.files import protected_file_response
from tongxin.core.logs import JsonFormatter, RequestIdFilter, request_id


@pytest.fixture
def real_worker(settings, monkeypatch):
    """Pretend tasks go to a separate worker process (the tests run them immediately)."""
    monkeypatch.setattr(HUEY, "immediate", False)
    HUEY.delete(worker.HEARTBEAT_KEY)
    yield
    HUEY.delete(worker.HEARTBEAT_KEY)


@pytest.mark.django_db
def test_healthz_is_ok_when_database_queue_and_worker_answer(real_worker):
    # given a worker that beat a moment ago
    worker.beat()
    # when the load balancer asks
    response = Client().get("/healthz")
    # then every check is ok
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok", "worker": "ok"}}


@pytest.mark.django_db
def test_healthz_fails_when_the_worker_is_silent(real_worker, settings):
    # given a worker whose last heartbeat is older than allowed
    settings.HEALTHZ_WORKER_STALE_SECONDS = 60
    worker.beat(time.time() - 600)
    # when asked, then the answer is 503 and names the worker
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("error: last heartbeat from the task worker")
    # and with no heartbeat at all it says so
    HUEY.delete(worker.HEARTBEAT_KEY)
    assert "no heartbeat" in Client().get("/healthz").json()["checks"]["worker"]


@pytest.mark.django_db
def test_healthz_fails_when_the_database_does_not_answer(monkeypatch):
    # given a database that refuses queries
    from tongxin.core import ops

    def broken() -> str:
        raise RuntimeError("connection refused")

    monkeypatch.setitem(ops.CHECKS, "database", broken)
    # when asked, then 503 with the reason, not a server error page
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error: connection refused"


def test_worker_heartbeat_task_writes_the_heartbeat(real_worker):
    # given the worker's periodic task, when it runs, then the heartbeat is now
    from tongxin.core.tasks import worker_heartbeat

    worker_heartbeat.call_local()
    assert abs(worker.last_beat() - time.time()) < 5


@pytest.mark.django_db
def test_metrics_in_prometheus_format_for_loopback(world):
    # given some traffic and a case
    from tongxin.cases.tests.core_fixtures import new_case

    new_case(world)
    Client().get("/login/")
    worker.record_failure("tongxin.cases.tasks.sweep")
    # when a local Prometheus scrapes
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    # then the figures are there in the text format
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    for name in (
        "tongxin_http_request_duration_seconds_bucket",
        "tongxin_cases_intake_total",
        "tongxin_cases_open ",
        "tongxin_cases_overdue ",
        "tongxin_queue_depth ",
        'tongxin_task_failures_total{task="tongxin.cases.tasks.sweep"}',
    ):
        assert name in text, name
    assert 'route="accounts:login"' in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("meta", "allowed"),
    [
        ({"REMOTE_ADDR": "10.1.2.3"}, False),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}, False),  # through nginx
        ({"REMOTE_ADDR": "10.1.2.3", "HTTP_AUTHORIZATION": "Bearer wrong"}, False),
        ({"REMOTE_ADDR": "10.1.2.3", "HTTP_AUTHORIZATION": "Bearer s3cret-token"}, True),
        ({"REMOTE_ADDR": "::1"}, True),
    ],
)
def test_metrics_are_for_loopback_or_the_token_only(settings, meta, allowed):
    # given a metrics token, when a caller scrapes from where it is, then only loopback or the token get in
    settings.METRICS_TOKEN = "s3cret-token"
    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1"]  # nginx on the host
    response = Client().get("/metrics", **meta)
    assert response.status_code == (200 if allowed else 404)


@pytest.mark.django_db
def test_each_response_carries_a_request_id_and_keeps_the_proxys():
    # given a request with nginx's id and one without, when answered, then the id is kept or made
    assert Client().get("/login/", HTTP_X_REQUEST_ID="0123456789abcdef")["X-Request-ID"] == "0123456789abcdef"
    made = Client().get("/login/", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert len(made) == 32 and made.isalnum()


def test_json_log_lines_carry_the_request_id():
    # given a log record written during a request
    token = request_id.set("req-1234abcd")
    try:
        record = logging.LogRecord("tongxin.cases", logging.INFO, __file__, 1, "已受理 %s", ("C1",), None)
        record.case = 42
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    # when formatted as JSON
    entry = json.loads(JsonFormatter().format(record))
    # then it is one object with the id, the message in Chinese and the extra fields
    assert entry["request_id"] == "req-1234abcd"
    assert entry["message"] == "已受理 C1" and entry["level"] == "INFO" and entry["case"] == 42


def test_protected_file_is_streamed_without_nginx(settings, tmp_path):
    # given a photo under MEDIA_ROOT and no accelerated location
    settings.MEDIA_ROOT = tmp_path
    settings.PROTECTED_MEDIA_ACCEL = ""
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "p.jpg").write_bytes(b"\xff\xd8jpeg")
    # when the view answers with it, then the bytes come from Python, private
    response = protected_file_response("cases/p.jpg")
    assert b"".join(response.streaming_content) == b"\xff\xd8jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert "X-Accel-Redirect" not in response


def test_protected_file_is_handed_to_nginx_when_accelerated(settings, tmp_path):
    # given nginx's internal location configured
    settings.MEDIA_ROOT = tmp_path
    settings.PROTECTED_MEDIA_ACCEL = "/protected/"
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "现场 1.jpg").write_bytes(b"x")
    # when the view answers, then the body is empty and nginx is told which file to send
    response = protected_file_response("cases/现场 1.jpg")
    assert response.content == b""
    assert response["X-Accel-Redirect"] == "/protected/cases/%E7%8E%B0%E5%9C%BA%201.jpg"
    assert response["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/passwd", "cases/../../x"])
def test_protected_file_outside_media_root_is_not_found(settings, tmp_path, name):
    # given a name that escapes MEDIA_ROOT, when asked for, then 404 (never the file)
    from django.http import Http404

    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "secret.txt").write_text("x")
    with pytest.raises(Http404):
        protected_file_response(name)
