"""One API shape: every list answers the same envelope and every error the same body (issue 8).

Given the OpenAPI schema of /api/v1, then no operation answers a bare JSON array or a list envelope of its own,
and every declared 4xx answer is the one :class:`tongxin.core.api.ErrorOut`. (At run time the route walker checks
that the error answers really carry ``code``, ``message`` and ``field``.)
"""

from __future__ import annotations

from typing import Any

ENVELOPE = {"count", "count_capped", "page", "page_size", "items"}


def _schema() -> dict[str, Any]:
    from tongxin.api import api

    return api.get_openapi_schema()


def _shapes() -> tuple[set[str], list[str]]:
    schema = _schema()
    components = schema["components"]["schemas"]
    odd_lists: set[str] = set()
    odd_errors: list[str] = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for code, answer in op.get("responses", {}).items():
                body = answer.get("content", {}).get("application/json", {}).get("schema", {})
                name = body.get("$ref", "").rsplit("/", 1)[-1]
                label = f"{method} {path}"
                if str(code).startswith("2"):
                    props = set(components.get(name, {}).get("properties", {})) if name else set()
                    if body.get("type") == "array" or ("items" in props and props != ENVELOPE):
                        odd_lists.add(label)
                elif str(code).startswith("4") and name != "ErrorOut":
                    odd_errors.append(f"{label} {code}: {name or body}")
    return odd_lists, odd_errors


def test_every_list_answers_the_one_envelope() -> None:
    odd_lists, _errors = _shapes()
    assert sorted(odd_lists) == [], "lists outside the envelope"


def test_every_declared_error_is_the_one_error_body() -> None:
    _lists, odd_errors = _shapes()
    assert odd_errors == []
