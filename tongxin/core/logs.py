"""Structured logs: one JSON object per line, each carrying the id of the request it was written in.

``RequestIdMiddleware`` (tongxin.core.middleware) sets :data:`request_id` for the duration of a request; the
filter copies it onto every log record, so ``journalctl -u tongxin-web | grep <id>`` finds everything one request
did, and the id a user reads off an error page (X-Request-ID) leads to it. Records written outside a request
(the worker, management commands) carry "-".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")

# LogRecord attributes that are not the caller's ``extra={...}`` fields.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra, "exc"}`` on one line, UTF-8 as is."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
