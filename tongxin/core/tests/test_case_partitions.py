"""Cases partitioned by month of submission on PostgreSQL (issue 15, migration ``cases.0012``,
:data:`tongxin.core.partitions.CASES`).

The global unique keys (case number, receipt code, idempotency key) live in the plain key table
``cases_casekey``, kept in step by triggers; every foreign key into cases references the key table. These tests
check that the guarantees of the plain table hold on the partitioned one: duplicates refused with the
IntegrityError intake already handles, references to a missing case refused, deletes as before, rows of a month
without its partition kept in DEFAULT and moved later, and the migration converting a database that holds cases
(and back). SQLite keeps the plain table: everything here but the first test is PostgreSQL's.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongxin.cases import services
from tongxin.cases.choices import Channel
from tongxin.cases.models import Case, CaseEvent, CasePhoto
from tongxin.cases.tests.core_fixtures import T0, ensure_default_categories, new_case
from tongxin.conftest import build_world
from tongxin.core import partitions
from tongxin.core.partitions import CASES

pg_only = pytest.mark.skipif(not settings.IS_POSTGRES, reason="declarative partitioning is PostgreSQL's")
TZ = timezone.get_default_timezone()
REFERRERS = {
    "assembly_matter_cases",
    "care_visit",
    "cases_case",  # merged_into
    "cases_caseevent",
    "cases_casephoto",
    "cases_routing_categoryfeedback",
    "cases_whistlecall",
    "mediation_dispute",
    "sensors_alert",
}


def _rows(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchall()


def _check_now() -> None:
    """Run the deferred foreign key checks now (Django's keys are DEFERRABLE INITIALLY DEFERRED)."""
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _keyed(world: Any, key: str) -> dict[str, Any]:
    """Intake arguments of an API submission carrying an idempotency key."""
    return {"channel": Channel.API, "category": "environment", "description": "垃圾桶满了",
            "estate": world.estate_a, "idempotency_key": key, "idempotency_client": "client-1", "now": T0}  # fmt: skip


def _partition_of(case: Case) -> str:
    return _rows("SELECT tableoid::regclass::text FROM cases_case WHERE id = %s", [case.pk])[0][0]


@pytest.mark.django_db
def test_sqlite_keeps_the_plain_case_table(world):
    """Given any database, when a case is taken in, then cases_case is partitioned exactly on PostgreSQL, and the
    key table exists only there."""
    new_case(world)
    assert partitions.is_partitioned(CASES) is settings.IS_POSTGRES
    tables = connection.introspection.table_names()
    assert ("cases_casekey" in tables) is settings.IS_POSTGRES


@pg_only
@pytest.mark.django_db
def test_cases_are_partitioned_by_month_with_the_keys_beside(world):
    """Given the migrated database, then cases_case is range-partitioned on submitted_at with its primary key
    (id, submitted_at), a DEFAULT partition and three months ahead; the key table holds the three unique keys;
    and every foreign key into cases references the key table, none the partitioned table."""
    assert _rows(
        "SELECT pt.partstrat, a.attname FROM pg_partitioned_table pt JOIN pg_attribute a "
        "ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0] WHERE pt.partrelid = 'cases_case'::regclass"
    ) == [("r", "submitted_at")]
    assert _rows(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'cases_case'::regclass "
        "AND contype = 'p'"
    ) == [("PRIMARY KEY (id, submitted_at)",)]
    names = {
        r[0]
        for r in _rows(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'cases_case'::regclass"
        )
    }
    ahead = partitions.add_months(timezone.localdate().replace(day=1), 3)
    assert {"cases_case_default", CASES.partition_name(ahead)} <= names
    unique = {
        r[0]
        for r in _rows(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'cases_casekey'::regclass AND x.indisunique"
        )
    }
    assert unique == {
        "cases_casekey_pkey",
        "cases_case_number_key",
        "cases_case_receipt_code_key",
        "case_unique_idempotency_key",
    }
    refs = _rows(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND conparentid = 0 AND confrelid IN ('cases_case'::regclass, 'cases_casekey'::regclass)"
    )
    assert {r for r, _ in refs} == REFERRERS
    assert {t for _, t in refs} == {"cases_casekey"}
    # a taken-in case has its key row, in step
    case = new_case(world)
    assert _rows("SELECT number, receipt_code, channel FROM cases_casekey WHERE id = %s", [case.pk]) == [
        (case.number, case.receipt_code, case.channel)
    ]


@pg_only
@pytest.mark.django_db
def test_a_duplicate_case_number_or_receipt_code_is_refused(world):
    """Given a case, when another row is saved with its number, or its receipt code, or a case's number is
    changed to the other's, then the database refuses each with IntegrityError naming the same constraint as
    before partitioning, and nothing is left behind."""
    first = new_case(world)
    second = new_case(world)
    for field, constraint in (
        ("number", "cases_case_number_key"),
        ("receipt_code", "cases_case_receipt_code_key"),
    ):
        clone = Case.objects.get(pk=first.pk)
        clone.pk = None
        if field == "number":
            clone.receipt_code = "QQQQQQQQQ2"
        else:
            clone.number = "20261118X"
        with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
            clone.save()
    with pytest.raises(IntegrityError, match="cases_case_number_key"), transaction.atomic():
        Case.objects.filter(pk=second.pk).update(number=first.number)
    assert Case.objects.count() == 2
    assert _rows("SELECT count(*) FROM cases_casekey") == [(2,)]
    # a change of number that collides with nothing is carried into the key table
    Case.objects.filter(pk=second.pk).update(number="20261118NEW")
    assert _rows("SELECT number FROM cases_casekey WHERE id = %s", [second.pk]) == [("20261118NEW",)]


@pg_only
@pytest.mark.django_db
def test_a_duplicate_idempotency_key_is_refused_but_an_empty_one_is_not(world):
    """Given a case submitted with an idempotency key, when a row with the same channel, client and key is
    inserted behind intake's back, then it is refused; cases without a key never collide."""
    kw = _keyed(world, "k-1")
    first = services.submit(**kw)
    clone = Case.objects.get(pk=first.pk)
    clone.pk, clone.number, clone.receipt_code = None, "20261118DUP", "QQQQQQQQQ3"
    with pytest.raises(IntegrityError, match="case_unique_idempotency_key"), transaction.atomic():
        clone.save()
    new_case(world)
    new_case(world)
    assert Case.objects.filter(idempotency_key="").count() == 2


@pg_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_retry_with_the_same_idempotency_key_returns_the_first_case():
    """Given a submission with an idempotency key inserted by another connection and not yet committed, when
    intake takes in the same key meanwhile, then its insert waits on the key table's unique index, is refused
    when the other commits, and intake's IntegrityError path returns the other's case: one case in all."""
    ensure_default_categories()
    world = build_world()
    kw = _keyed(world, "race-1")
    inserted = threading.Event()
    winner: list[int] = []

    def other() -> None:
        try:
            with transaction.atomic():
                winner.append(services.submit(**kw).pk)
                inserted.set()
                time.sleep(3)  # the main thread's insert is now waiting on the unique index
        finally:
            inserted.set()
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    assert inserted.wait(30)
    with CaptureQueriesContext(connection) as queries:
        case = services.submit(**kw)
    thread.join(30)
    assert winner and case.pk == winner[0]
    assert Case.objects.filter(idempotency_key="race-1").count() == 1
    # the key was looked up once, after the refusal: intake inserts without asking first (issue 15), and the
    # refused attempt rolls back whole before submit runs again asking
    lookups = [q for q in queries.captured_queries if '"idempotency_key" =' in q["sql"]]
    assert len(lookups) == 1


@pg_only
@pytest.mark.django_db
def test_a_reference_to_a_missing_case_is_refused(world):
    """Given no case with id 987654321, when an event, a photo or a merge points at it, then the deferred
    foreign key check refuses it (the keys now reference cases_casekey)."""
    case = new_case(world)
    attempts = [
        lambda: CaseEvent.objects.create(case_id=987654321, type="submitted", at=T0),
        lambda: CasePhoto.objects.create(case_id=987654321, file="x.jpg"),
        lambda: Case.objects.filter(pk=case.pk).update(merged_into_id=987654321),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError, match="cases_casekey"), transaction.atomic():
            attempt()
            _check_now()


@pg_only
@pytest.mark.django_db
def test_deleting_cases_keeps_todays_semantics(world):
    """Given two cases with timeline events, when one is deleted through Django, then its events (CASCADE) and
    its key row go and its number is free again; when the other's row is deleted in SQL under its events, then
    the foreign key check refuses it as the plain table's key did."""
    first, second = new_case(world), new_case(world)
    assert CaseEvent.objects.filter(case=first).exists() and CaseEvent.objects.filter(case=second).exists()
    first.delete()
    _check_now()
    assert not CaseEvent.objects.filter(case_id=first.pk).exists()
    assert _rows("SELECT count(*) FROM cases_casekey WHERE id = %s", [first.pk]) == [(0,)]
    with pytest.raises(IntegrityError, match="cases_caseevent"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("DELETE FROM cases_case WHERE id = %s", [second.pk])
        _check_now()
    assert Case.objects.filter(pk=second.pk).exists()


@pg_only
@pytest.mark.django_db
def test_truncate_empties_the_key_table(world):
    """Given a case with its events, when cases and events are truncated as Django's flush does between
    transactional tests (no row triggers fire), then the key table is emptied too and the same number can be
    taken again."""
    case = new_case(world)
    _check_now()  # the flush runs in a transaction of its own: no key checks pending
    with connection.cursor() as cur:
        cur.execute("TRUNCATE cases_case, cases_caseevent, cases_caserollupdelta")
    _check_now()
    assert _rows("SELECT count(*) FROM cases_casekey") == [(0,)]
    again = new_case(world)
    Case.objects.filter(pk=again.pk).update(number=case.number)
    assert _rows("SELECT number FROM cases_casekey WHERE id = %s", [again.pk]) == [(case.number,)]


@pg_only
@pytest.mark.django_db
def test_a_case_moved_to_another_month_keeps_its_key_and_references(world):
    """Given a case of November 2026 with events, when its submission time is moved to October (a row moved
    between partitions), then it sits in October's partition, its key row is unchanged and its events still
    reference it."""
    case = new_case(world)
    assert _partition_of(case) == "cases_case_202611"
    Case.objects.filter(pk=case.pk).update(submitted_at=dt.datetime(2026, 10, 15, 9, 0, tzinfo=TZ))
    _check_now()
    assert _partition_of(case) == "cases_case_202610"
    assert _rows("SELECT number FROM cases_casekey WHERE id = %s", [case.pk]) == [(case.number,)]
    assert CaseEvent.objects.filter(case=case).exists()


@pg_only
@pytest.mark.django_db
def test_a_case_of_a_month_without_partition_lands_in_default_and_moves(world):
    """Given no partition for May 2031, when a case is taken in with that submission time, then it lands in the
    DEFAULT partition; when the month's partitions are made (the nightly maintenance), then it moves into
    cases_case_203105 with its key row and its events' references intact."""
    may = dt.datetime(2031, 5, 20, 10, 0, tzinfo=TZ)
    case = new_case(world, now=may)
    assert _partition_of(case) == "cases_case_default"
    _check_now()  # the nightly task runs in a transaction of its own: no key checks pending on the partition
    made = partitions.ensure(CASES, today=may.date(), since=may.date())
    assert "cases_case_203105" in made
    _check_now()
    assert _partition_of(case) == "cases_case_203105"
    assert _rows("SELECT count(*) FROM cases_case_default") == [(0,)]
    assert _rows("SELECT number FROM cases_casekey WHERE id = %s", [case.pk]) == [(case.number,)]
    assert CaseEvent.objects.filter(case=case).exists()
    # the moved row's triggers work in its new partition: a duplicate number is still refused
    clone = Case.objects.get(pk=case.pk)
    clone.pk, clone.receipt_code = None, "QQQQQQQQQ4"
    with pytest.raises(IntegrityError, match="cases_case_number_key"), transaction.atomic():
        clone.save()


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


@pg_only
@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_a_database_holding_cases_and_back():
    """Given the database migrated back to cases 0011 (a plain cases_case with its unique keys) holding cases
    of three months with events and a merge, when 0012 runs, then cases_case is partitioned with the same rows
    in their months' partitions, one key row per case, the events and merge references unchanged and pointing at
    the key table; and migrating back again gives the plain table with the unique keys and no key table."""
    ensure_default_categories()
    world = build_world()
    before = ("cases", "0011_rated_by_call")
    after = ("cases", "0012_partition_cases")
    try:
        _migrate(before)
        assert not partitions.is_partitioned(CASES)
        cases = [
            new_case(world, now=dt.datetime(2026, month, 10, 9, 0, tzinfo=TZ)) for month in (8, 9, 9, 10)
        ]
        Case.objects.filter(pk=cases[3].pk).update(merged_into=cases[2])
        events = sorted(CaseEvent.objects.values_list("id", "case_id"))
        snapshot = sorted(
            Case.objects.values_list("id", "number", "receipt_code", "submitted_at", "merged_into")
        )
        _migrate(after)
        assert partitions.is_partitioned(CASES)
        assert sorted(
            Case.objects.values_list("id", "number", "receipt_code", "submitted_at", "merged_into")
        ) == (snapshot)
        assert sorted(CaseEvent.objects.values_list("id", "case_id")) == events
        assert [_partition_of(c) for c in cases] == [
            "cases_case_202608",
            "cases_case_202609",
            "cases_case_202609",
            "cases_case_202610",
        ]
        assert _rows("SELECT count(*) FROM cases_casekey") == [(4,)]
        assert {t for (t,) in _rows(
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
            "('cases_caseevent'::regclass, 'cases_case'::regclass) AND confrelid IN "
            "('cases_case'::regclass, 'cases_casekey'::regclass)"
        )} == {"cases_casekey"}  # fmt: skip
        # new cases continue the ids and are refused a taken number
        fresh = new_case(world)
        assert fresh.pk > max(c.pk for c in cases)
        _migrate(before)
        assert not partitions.is_partitioned(CASES)
        assert "cases_casekey" not in connection.introspection.table_names()
        assert Case.objects.count() == 5
        with pytest.raises(IntegrityError, match="cases_case_number_key"), transaction.atomic():
            Case.objects.filter(pk=fresh.pk).update(number=cases[0].number)
    finally:
        _migrate(after)
    assert partitions.is_partitioned(CASES)
