"""gunicorn's own log lines in the app's shape (deploy/gunicorn.conf.py: ``logger_class``).

gunicorn writes its messages ("Booting worker", "Worker timeout") as plain text and stamps the access log in local
time (``[28/Nov/2026:07:50:59 +0800]``), while the app writes JSON with ISO times in UTC. With this class both are
JSON with the same kind of time, so one journal, sorted or grepped, reads as one log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

from tongxin.core.logs import JsonFormatter


class Logger(GunicornLogger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def now(self) -> str:
        """The access log's ``%(t)s``: the time as the app's lines write it."""
        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
