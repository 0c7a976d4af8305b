"""/healthz and /metrics: what a load balancer and a monitoring system ask (docs/operations.md).

``/healthz`` answers 200 ``{"status": "ok", "checks": {...}}`` when the database answers, the task queue answers and
the worker's heartbeat is recent, 503 naming the failing check otherwise; it reveals no data, so it is public.
``/metrics`` is the Prometheus exposition: for callers on loopback that did not come through the proxy (a local
Prometheus or node exporter), or with ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from huey.contrib.djhuey import HUEY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from tongxin.core import metrics, policy, worker


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_queue() -> str:
    worker.queue_depth()
    return "ok"


def _check_worker() -> str:
    if HUEY.immediate:
        return "ok"  # tasks run inside the web process (tests, HUEY_IMMEDIATE=1): no worker to wait for
    last = worker.last_beat()
    if last is None:
        raise RuntimeError("no heartbeat from the task worker (is tongxin-worker running?)")
    age = time.time() - last
    if age > settings.HEALTHZ_WORKER_STALE_SECONDS:
        raise RuntimeError(f"last heartbeat from the task worker {int(age)} s ago")
    return "ok"


CHECKS = {"database": _check_database, "queue": _check_queue, "worker": _check_worker}


@policy.public
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    results: dict[str, str] = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a health check reports every failure as data, never as a 500
            healthy = False
            results[name] = f"error: {exc}"
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503
    )


def _direct_loopback(request: HttpRequest) -> bool:
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_X_REAL_IP" in request.META:
        return False  # came through the proxy: the outside world, whatever REMOTE_ADDR says
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return _direct_loopback(request)


@metrics.register_collector
def queue_metrics() -> Iterable[Metric]:
    yield GaugeMetricFamily("tongxin_queue_depth", "Tasks waiting for the worker", value=worker.queue_depth())
    yield GaugeMetricFamily(
        "tongxin_queue_scheduled", "Tasks scheduled for later", value=worker.scheduled_count()
    )
    failed = CounterMetricFamily("tongxin_task_failures", "Task runs that raised, by task", labels=["task"])
    for name, count in sorted(worker.failures().items()):
        failed.add_metric([name], count)
    yield failed
    last = worker.last_beat()
    if last is not None:
        yield GaugeMetricFamily(
            "tongxin_worker_heartbeat_timestamp_seconds",
            "Unix time of the worker's last heartbeat",
            value=last,
        )


@policy.public
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
