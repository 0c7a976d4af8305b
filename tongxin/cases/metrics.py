"""The case figures on /metrics (docs/operations.md): intake by channel, open and overdue cases.

Read from the database on each scrape with two grouped queries over indexed columns (a scrape every 15–60 s).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from tongxin.cases.choices import OPEN_STATES
from tongxin.cases.models import Case
from tongxin.core.metrics import register_collector


@register_collector
def case_metrics() -> Iterable[Metric]:
    intake = CounterMetricFamily(
        "tongxin_cases_intake", "Cases taken in since installation, by channel", labels=["channel"]
    )
    for row in Case.objects.order_by().values("channel").annotate(n=Count("id")):
        intake.add_metric([row["channel"]], row["n"])
    yield intake
    figures = Case.objects.order_by().aggregate(
        open=Count("id", filter=Q(state__in=OPEN_STATES)),
        overdue=Count("id", filter=Q(state__in=OPEN_STATES, overdue=True)),
    )
    yield GaugeMetricFamily(
        "tongxin_cases_open", "Cases not yet closed, rejected or merged", value=figures["open"]
    )
    yield GaugeMetricFamily(
        "tongxin_cases_overdue", "Open cases past their deadline", value=figures["overdue"]
    )
