"""Route-walker samples for core: a worker heartbeat, so /healthz answers 200 as a deployment with its worker
running does (the walker may run without HUEY_IMMEDIATE). Stamped a day ahead: a walk on a loaded machine can
take longer than HEALTHZ_WORKER_STALE_SECONDS before it reaches /healthz."""

from __future__ import annotations

import time
from typing import Any

from tongxin.core import worker


def make(world: Any) -> None:
    worker.beat(time.time() + 86400)
