"""Fuzzing the API from its OpenAPI schema (schemathesis): no input, valid or not, gets a server error or an answer
the schema does not document.

Every operation of /api/v1 is called in-process (WSGI) with generated requests, as a subdistrict admin (the widest
scope) — schema-valid ones and schema-violating ones (wrong types, NUL bytes, huge numbers, missing fields). Each
answer must not be a 5xx, must use a status code the operation documents, and its body must match the schema of
that status (the one error body for errors). The run is bounded: ``FUZZ_EXAMPLES`` per operation and mode, about
half a minute on this machine; ``FUZZ_EXAMPLES=200 pytest tongxin/tests/test_api_fuzz.py`` fuzzes harder.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tongxin.core.models import ApiToken

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))  # per operation, for each of the two modes
BUDGET_SECONDS = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _schema():
    from tongxin.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def keep_connection():
    """Calls go through the WSGI application, whose request signals would close the test's database connection
    (and with it the test's transaction on PostgreSQL); Django's test client detaches them the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_fuzzing_the_openapi_schema_finds_no_server_error_and_no_undocumented_answer(world, keep_connection):
    # given an admin's token and every operation of the schema
    _token, key = ApiToken.issue(world.users["admin"], "fuzz")
    headers = {"Authorization": f"Bearer {key}"}
    schema = _schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    only = os.environ.get(
        "FUZZ_ONLY"
    )  # e.g. FUZZ_ONLY="GET /api/v1/cases/{case_id}" to look at one operation
    if only:
        operations = [op for op in operations if only in op.label]
    failures: list[str] = []
    timings: list[tuple[float, str]] = []
    started, cpu_started = time.monotonic(), time.process_time()
    # when each is called with generated requests, valid and invalid
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            began = time.monotonic()

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except (KeyboardInterrupt, SystemExit):
                raise
            except (
                BaseException
            ) as exc:  # one line per failing operation (pytest's failures are BaseExceptions)
                first = str(exc).strip().splitlines()
                failures.append(f"{operation.label} [{mode.value}]: {' | '.join(first[: 40 if only else 6])}")
            timings.append((time.monotonic() - began, f"{operation.label} [{mode.value}]"))
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    report = os.environ.get("FUZZ_REPORT")
    if report:  # where the time went and what failed, for whoever tunes this test
        with open(report, "w", encoding="utf-8") as fh:
            fh.write(f"{len(operations)} operations, {cpu:.1f} s CPU, {elapsed:.1f} s wall\n")
            fh.write("\n".join(f"{t:6.2f} {label}" for t, label in sorted(timings, reverse=True)))
            fh.write("\n\nFAILURES\n" + "\n\n".join(failures))
    # then none answered with a server error or outside its documented schema, within the time budget (the CPU
    # time of this process: other test workers on the same cores do not count against it)
    assert not failures, "\n".join(failures)
    assert cpu < BUDGET_SECONDS, f"fuzzing took {cpu:.0f} s of CPU ({elapsed:.0f} s wall)"
