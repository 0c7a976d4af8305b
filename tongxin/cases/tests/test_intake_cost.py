"""What one intake costs (issue 15), and that what it memoises per process follows the data it came from.

POST /api/v1/cases/ with a bearer token reads the token's user, the category and the address's estate and building
from per-process memos (tongxin/core/memo.py); it inserts the case without asking first whether its
Idempotency-Key was used; a new case's inbox rows are written in the intake's own transaction; an intake routed at
once chains its second audit record without asking the database again. The statement budget below is what that
reaches: it may go down, never up.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.accounts.services import revoke_token
from tongxin.cases.choices import CaseState, HandlerKind
from tongxin.cases.models import Case, CaseEvent, CaseRollupDelta, Category, Holiday
from tongxin.core import audit
from tongxin.core.memo import Memo
from tongxin.core.models import ApiToken, AuditLog, Delivery, Notification
from tongxin.regions.models import Region

URL = "/api/v1/cases/"
# statements of one intake by a staff member's token, the memos warm (PostgreSQL: nextval,
# insert, event, rollup delta, chain lock + last hash + audit row, inbox row + delivery row, and the
# transaction's two; SQLite the same number, the day's counter instead of nextval)
BUDGET = {"postgresql": 11, "sqlite": 11}


def bearer(world, role: str = "staff_a") -> tuple[Client, str]:
    _, key = ApiToken.issue(world.users[role], "test")
    return Client(), key


def intake(client: Client, key: str, body: dict, idem: str):
    return client.post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
    )


LEAK = {"category": "repairs-leak", "description": "楼顶漏水，天花板滴水", "address": "锦绣江山3栋"}


def test_intake_stays_within_its_statement_budget(world):
    """Given a community staff member's API token and one intake already taken (the memos filled), when the next
    intake arrives, then it takes at most the budgeted statements, and the case, its event, its rollup delta,
    its audit record and the grid worker's inbox row are all written."""
    client, key = bearer(world)
    assert intake(client, key, LEAK, "warm").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        resp = intake(client, key, LEAK, "measured")
    assert resp.status_code == 201, resp.content
    assert len(queries.captured_queries) <= BUDGET[connection.vendor], "\n".join(
        q["sql"][:120] for q in queries.captured_queries
    )
    case = Case.objects.get(pk=resp.json()["id"])
    assert case.building.number == "3" and case.grid == world.grid_1 and case.respond_by is not None
    assert CaseEvent.objects.filter(case=case, type="submitted").count() == 1
    assert CaseRollupDelta.objects.filter(category_id=case.category_id, received=1).count() == 2
    assert AuditLog.objects.filter(object_type="cases.case", object_id=str(case.pk), action="create").exists()
    note = Notification.objects.get(link=f"/cases/{case.pk}/")
    assert note.user == world.users["grid_1"] and note.kind == "case_new"
    assert Delivery.objects.get(notification=note).status == Delivery.Status.SENT
    assert audit.verify().ok


def test_a_retried_key_is_answered_with_the_first_case_without_a_lookup_first(world):
    """Given an intake taken with an Idempotency-Key, when the same request comes again, then the insert is
    refused by the unique index, rolled back whole, and the answer is the first case (200): one case, one event,
    one rollup delta, one audit record, one inbox row."""
    client, key = bearer(world)
    first = intake(client, key, LEAK, "again")
    second = intake(client, key, LEAK, "again")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and Case.objects.count() == 1
    assert CaseEvent.objects.count() == 1 and CaseRollupDelta.objects.count() == 1
    assert AuditLog.objects.filter(object_type="cases.case").count() == 1
    assert Notification.objects.filter(kind="case_new").count() == 1


def test_a_category_routing_change_routes_the_next_intake(world):
    """Given an intake of 漏水维修 taken while the category waits for staff (memoised by this process), when the
    category is set to route to the estate's property company, then the next intake is dispatched to it."""
    client, key = bearer(world)
    first = intake(client, key, LEAK, "r1")
    assert first.json()["state"] == CaseState.SUBMITTED
    cat = Category.objects.get(service_code="repairs-leak")
    cat.auto_route, cat.handler_kind, cat.default_property_company = (
        True,
        HandlerKind.PROPERTY_COMPANY,
        world.property_company,
    )
    cat.save()
    second = intake(client, key, LEAK, "r2")
    assert second.json()["state"] == CaseState.DISPATCHED
    assert Case.objects.get(pk=second.json()["id"]).property_company == world.property_company
    # routed at once: the dispatch's audit record chains to the intake's in the same transaction
    assert audit.verify().ok
    assert Notification.objects.filter(user=world.users["property"], kind="case_dispatched").count() == 1


def test_a_deadline_policy_change_applies_to_the_next_intake(world):
    """Given an intake of 漏水维修 (the category memoised with its deadline policy), when the policy's response
    time is changed, then the next intake's response deadline follows the new time."""
    client, key = bearer(world)
    first = intake(client, key, LEAK, "d1").json()
    policy = Category.objects.get(service_code="repairs-leak").policy
    policy.respond_within = dt.timedelta(minutes=90)
    policy.save()
    second = intake(client, key, LEAK, "d2").json()
    given = [
        dt.datetime.fromisoformat(c["respond_by"]) - dt.datetime.fromisoformat(c["submitted_at"])
        for c in (first, second)
    ]
    assert given[0] != dt.timedelta(minutes=90) and given[1] == dt.timedelta(minutes=90)


def test_a_new_building_is_found_by_the_next_intake(world):
    """Given an intake whose address names a building that does not exist (the estate only is found, and the
    miss is memoised), when that building is registered, then the next intake with the address is placed in it."""
    client, key = bearer(world)
    body = {**LEAK, "address": "锦绣江山9栋"}
    first = Case.objects.get(pk=intake(client, key, body, "b1").json()["id"])
    assert first.estate == world.estate_a and first.building is None
    building = Region.objects.create(
        kind="building", name="9栋", number="9", parent=world.estate_a, grid=world.grid_2
    )
    second = Case.objects.get(pk=intake(client, key, body, "b2").json()["id"])
    assert second.building == building and second.grid == world.grid_2


def test_a_revoked_token_or_a_deactivated_user_is_refused_at_once(world):
    """Given a token that has just been accepted (memoised with its user), when it is revoked, then the next
    request is refused (401); likewise another token once its user is deactivated."""
    client, key = bearer(world)
    assert intake(client, key, LEAK, "t1").status_code == 201
    revoke_token(ApiToken.objects.get(user=world.users["staff_a"]))
    assert intake(client, key, LEAK, "t2").status_code == 401
    client, key = bearer(world, "staff_b")
    body = {**LEAK, "address": "富丰新城12栋"}
    assert intake(client, key, body, "t3").status_code == 201
    user = world.users["staff_b"]
    user.is_active = False
    user.save()
    assert intake(client, key, body, "t4").status_code == 401


def test_a_new_holiday_moves_the_next_working_day_deadline(world):
    """Given the holiday calendar read for a working-day deadline (memoised), when a holiday is added inside the
    window, then the next deadline counts it."""
    from tongxin.cases import sla

    start = dt.date(2026, 12, 1)  # a Tuesday
    before = sla.Calendar.load(start, 3)
    assert before.is_working_day(dt.date(2026, 12, 2))
    Holiday.objects.create(date=dt.date(2026, 12, 2), kind="holiday", name="测试假日")
    assert not sla.Calendar.load(start, 3).is_working_day(dt.date(2026, 12, 2))


def test_a_value_read_in_a_transaction_that_changed_its_data_is_not_kept(db):
    """Given a memo, when a value is computed inside a transaction that changed the memo's data (it might roll
    back), then it is not kept, and not after a rollback either; computed in a transaction that changed nothing, or
    after the commit, it is kept until forgotten."""
    memo = Memo("test-memo-transaction")
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with transaction.atomic():
        assert memo.get("k", compute) == 1  # nothing changed here: kept
    assert memo.get("k", compute) == 1
    try:
        with transaction.atomic():
            memo.forget()  # what a post_save receiver does
            assert memo.get("k", compute) == 2
            assert memo.get("k", compute) == 3  # not kept: this transaction changed the data
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert memo.get("k", compute) == 4  # read again after the rollback, and kept
    assert memo.get("k", compute) == 4
    with transaction.atomic():
        memo.forget()
        assert memo.get("k", compute) == 5
    assert memo.get("k", compute) == 6  # forgotten again by the commit, then kept
    assert memo.get("k", compute) == 6


@pytest.mark.parametrize("rollback", [True, False])
def test_audit_records_of_one_transaction_chain_without_asking_again(world, rollback):
    """Given a transaction that appended an audit record, when it appends another, then the second chains to the
    first without reading the chain's end; after a rolled back savepoint, the next record reads it again — the
    chain verifies either way."""
    with transaction.atomic():
        audit.record(AuditLog.Action.CREATE, world.estate_a, actor=None)
        with CaptureQueriesContext(connection) as queries:
            audit.record(AuditLog.Action.UPDATE, world.estate_a, actor=None)
        assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        if rollback:
            try:
                with transaction.atomic():
                    audit.record(AuditLog.Action.UPDATE, world.estate_b, actor=None)
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
        audit.record(AuditLog.Action.DELETE, world.estate_a, actor=None)
    assert audit.verify().ok
    assert AuditLog.objects.count() == 3


def test_a_resident_linked_to_the_account_reports_the_next_intake(world):
    """Given an account without a resident that took an intake (the "no resident" answer memoised), when the
    account is linked to a resident, then the next intake is reported by that resident through the phone channel."""
    client, key = bearer(world, "volunteer")
    first = Case.objects.get(pk=intake(client, key, LEAK, "v1").json()["id"])
    assert first.reporter is None and first.channel == "api"
    resident = world.residents["a2"]
    resident.user = world.users["volunteer"]
    resident.save(update_fields=["user"])
    second = Case.objects.get(pk=intake(client, key, LEAK, "v2").json()["id"])
    assert second.reporter == resident and second.channel == "resident_app"


def test_a_removed_role_stops_the_next_request(world):
    """Given community staff who took a hotline call through the API (their scope memoised), when their role
    assignment is removed, then the next hotline intake is refused (the channel is no longer theirs)."""
    from tongxin.regions.models import RoleAssignment

    client, key = bearer(world)
    hotline = {**LEAK, "channel": "hotline"}
    assert intake(client, key, hotline, "h1").status_code == 201
    RoleAssignment.objects.filter(user=world.users["staff_a"]).delete()
    refused = intake(client, key, hotline, "h2")
    assert refused.status_code == 403 and refused.json()["code"] == "channel_not_allowed"
