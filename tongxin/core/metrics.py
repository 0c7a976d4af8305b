"""Prometheus metrics (served at /metrics, docs/operations.md lists them).

Request latency is a histogram observed by ``RequestIdMiddleware``. Under gunicorn every worker process keeps its
own numbers; ``deploy/gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` so they are summed across processes at
scrape time. Figures that live in the database or the queue (open cases, queue depth, …) are read when scraped by
the collectors that apps register with :func:`register_collector`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import REGISTRY, Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUEST_DURATION = Histogram(
    "tongxin_http_request_duration_seconds",
    "Time from the request's arrival in Django to its response, by route",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

_collectors: list[Callable[[], Iterable[Metric]]] = []


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_DURATION.labels(method=method, route=route, status=str(status)).observe(seconds)


def register_collector(collect: Callable[[], Iterable[Metric]]) -> Callable[[], Iterable[Metric]]:
    """Register ``collect() -> metrics`` to be called on every scrape (usable as a decorator)."""
    if collect not in _collectors:
        _collectors.append(collect)
    return collect


class _Scrape(Collector):
    def collect(self) -> Iterable[Metric]:
        for collect in _collectors:
            yield from collect()


def exposition() -> bytes:
    """The text exposition: the process metrics (summed over processes under gunicorn) and the scraped ones."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
        base = generate_latest(processes)
    else:
        base = generate_latest(REGISTRY)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Scrape())
    return base + generate_latest(scraped)
