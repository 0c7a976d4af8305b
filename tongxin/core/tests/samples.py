"""Route-walker samples for core: a fresh worker heartbeat, so /healthz answers 200 as a deployment with its
worker running does (the walker may run without HUEY_IMMEDIATE)."""

from __future__ import annotations

from typing import Any

from tongxin.core import worker


def make(world: Any) -> None:
    worker.beat()
