"""Cases API: intake with Idempotency-Key, bad input, transitions, scoped lists, queue, detail, receipt."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongxin.cases import services
from tongxin.cases.choices import CaseState, Channel
from tongxin.cases.models import Case, CaseEvent
from tongxin.cases.tests.core_fixtures import make_member, new_case

URL = "/api/v1/cases/"


def post(client, url, data=None, **headers):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json", headers=headers)


def snapshot():
    """Everything an intake or a transition could change."""
    return (
        Case.objects.count(),
        CaseEvent.objects.count(),
        sorted(Case.objects.values_list("pk", "state", "assignee_id")),
    )


# ---------------------------------------------------------------------------------------------------------
# Intake


def test_retried_submission_with_idempotency_key_returns_the_same_case(world):
    # given a resident's phone submitting with an Idempotency-Key
    client = world.client("resident")
    body = {"category": "repairs-leak", "description": "卫生间漏水到楼下"}
    # when the request is sent, then retried (e.g. the network dropped the answer)
    first = post(client, URL, body, **{"Idempotency-Key": "k-123"})
    again = post(client, URL, body, **{"Idempotency-Key": "k-123"})
    # then the first creates (201) and the retry answers 200 with the same case, not a second one
    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1
    case = Case.objects.get()
    # the caller's resident is the reporter; the location falls back to their dwelling; channel resident_app
    assert case.reporter == world.residents["a1"]
    assert case.dwelling == world.dwellings["a1"] and case.grid == world.grid_1
    assert case.channel == Channel.RESIDENT_APP
    # and a different key makes a new case
    assert post(client, URL, body, **{"Idempotency-Key": "k-124"}).status_code == 201
    assert Case.objects.count() == 2


def test_same_key_for_a_different_request_is_refused(world):
    client = world.client("resident")
    post(client, URL, {"category": "repairs-leak", "description": "漏水"}, **{"Idempotency-Key": "dup"})
    before = snapshot()
    r = post(client, URL, {"category": "environment", "description": "垃圾"}, **{"Idempotency-Key": "dup"})
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert snapshot() == before


def test_staff_intake_by_address_text_resolves_dwelling_and_grid(world):
    client = world.client("staff_a")
    r = post(
        client,
        URL,
        {"category": "public-order", "description": "楼上噪音", "address": "锦绣江山5栋2单元501"},
    )
    assert r.status_code == 201, r.content
    case = Case.objects.get(pk=r.json()["id"])
    assert case.channel == Channel.API
    assert case.dwelling == world.dwellings["a2"] and case.grid == world.grid_2
    receipt = r.json()
    # the answer is the receipt: number, code, state and deadlines; the timeline is one GET away
    assert receipt["number"] == case.number and receipt["receipt_code"] == case.receipt_code
    assert receipt["state"] == case.state and receipt["resolve_by"] is not None
    assert "timeline" not in receipt
    assert client.get(receipt["url"]).json()["timeline"][0]["type"] == "submitted"


BAD_INTAKE = [
    ({"category": "no-such-thing", "description": "漏水"}, "unknown_category", "category"),
    (
        {"category": "repairs-leak", "description": "漏水", "address": "火星小区99栋"},
        "unknown_location",
        "location",
    ),
    ({"category": "repairs-leak", "description": "漏" * 4001}, "description_too_long", "description"),
    ({"category": "repairs-leak", "description": "   "}, "empty_description", "description"),
]


def test_bad_intake_says_what_is_wrong_and_changes_nothing(world):
    # given staff of community A (no resident dwelling to fall back on)
    client = world.client("staff_a")
    before = snapshot()
    for body, code, field in BAD_INTAKE:
        # when they submit bad input
        r = post(client, URL, body, **{"Idempotency-Key": f"bad-{code}"})
        # then a 400 JSON names the problem and the field, and nothing was written
        assert r.status_code == 400, (code, r.content)
        assert r.json()["code"] == code
        assert r.json()["field"] == field
        assert r.json()["message"]
        assert snapshot() == before


def test_description_of_exactly_4000_characters_is_accepted(world):
    r = post(world.client("resident"), URL, {"category": "repairs-leak", "description": "漏" * 4000})
    assert r.status_code == 201


def test_dwelling_out_of_scope_is_refused(world):
    # given staff of community A and a dwelling in community B
    before = snapshot()
    r = post(
        world.client("staff_a"),
        URL,
        {"category": "repairs-leak", "description": "漏水", "dwelling_id": world.dwellings["b1"].pk},
    )
    assert r.status_code == 400 and r.json()["field"] == "dwelling_id"
    assert snapshot() == before


def test_anonymous_callers_cannot_submit(world):
    from django.test import Client

    r = post(Client(), URL, {"category": "repairs-leak", "description": "漏水"})
    assert r.status_code == 401
    assert Case.objects.count() == 0


def test_photos_upload_multipart(world):
    client = world.client("resident")
    case_id = post(client, URL, {"category": "repairs-leak", "description": "漏水"}).json()["id"]
    img = SimpleUploadedFile("roof.jpg", b"\xff\xd8\xff\xe0fakejpeg", content_type="image/jpeg")
    r = client.post(f"{URL}{case_id}/photos", {"files": [img]})
    assert r.status_code == 201, r.content
    assert Case.objects.get(pk=case_id).photos.count() == 1
    # a text file is refused and nothing is added
    txt = SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")
    r = client.post(f"{URL}{case_id}/photos", {"files": [txt]})
    assert r.status_code == 400 and r.json()["code"] == "not_an_image"
    assert Case.objects.get(pk=case_id).photos.count() == 1
    # someone who cannot see the case gets 404
    r = world.client("staff_b").post(f"{URL}{case_id}/photos", {"files": [img]})
    assert r.status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Transitions


def test_full_flow_through_the_api(world):
    # given a leak reported by the resident
    resident = world.client("resident")
    staff = world.client("staff_a")
    case_id = post(resident, URL, {"category": "repairs-leak", "description": "楼顶漏水"}).json()["id"]
    # when staff accept and dispatch to the property company, which resolves, and the resident rates
    assert post(staff, f"{URL}{case_id}/accept").status_code == 200
    r = post(staff, f"{URL}{case_id}/dispatch", {"property_company_id": world.property_company.pk})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "dispatched"
    prop = world.client("property")
    r = post(prop, f"{URL}{case_id}/resolve", {"result": "已更换防水层"})
    assert r.status_code == 200, r.content
    r = post(resident, f"{URL}{case_id}/rate", {"rating": "satisfied", "comment": "很快"})
    assert r.status_code == 200, r.content
    # then the case is closed and the timeline shows every step
    assert r.json()["state"] == "closed"
    types = [e["type"] for e in r.json()["timeline"]]
    assert (
        types[:2] == ["submitted", "accepted"] and "dispatched" in types and types[-1] in ("closed", "rated")
    )


def test_wrong_state_transition_is_409_and_changes_nothing(world):
    # given a case that was rejected (a terminal state)
    case = new_case(world)
    services.reject(case.pk, world.users["staff_a"], "不属于受理范围")
    before = snapshot()
    # when staff try to accept or resolve it
    for action, body in (("accept", {}), ("resolve", {"result": "done"})):
        r = post(world.client("staff_a"), f"{URL}{case.pk}/{action}", body)
        # then 409 with a message naming the current state, and nothing changed
        assert r.status_code == 409, r.content
        assert r.json()["code"] == "invalid_transition"
        assert "不予受理" in r.json()["message"]
    assert snapshot() == before


def test_missing_reason_and_unknown_action(world):
    case = new_case(world)
    staff = world.client("staff_a")
    before = snapshot()
    r = post(staff, f"{URL}{case.pk}/reject", {"reason": ""})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    assert post(staff, f"{URL}{case.pk}/explode").status_code in (404, 422)
    assert snapshot() == before


def test_claim_out_of_scope_is_404_and_without_the_claim_rule_is_refused(world):
    # given a case of grid 1 opened for claiming, a member of grid 1 and a member living in grid 3
    case = new_case(world, code="public-order")
    services.open_for_claiming(case.pk, world.users["staff_a"])
    near = make_member(world, "member_near", key="a1", post="patrol", seq=61)
    far = make_member(world, "member_far", key="b1", post="patrol", seq=62)
    from django.test import Client

    far_client, near_client = Client(), Client()
    far_client.force_login(far)
    near_client.force_login(near)
    before = snapshot()
    # when the member from another grid tries to claim: the case is out of their scope
    r = post(far_client, f"{URL}{case.pk}/claim")
    assert r.status_code == 404
    # and a grid worker (sees the case, but claiming is for members and volunteers) is refused: the role does not
    # hold the action, so the policy answers 404 as for every action outside one's roles
    r = post(world.client("grid_1"), f"{URL}{case.pk}/claim")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert snapshot() == before
    # then the member of the grid wins it
    r = post(near_client, f"{URL}{case.pk}/claim")
    assert r.status_code == 200, r.content
    assert Case.objects.get(pk=case.pk).assignee == near
    # a second claim says it is taken
    r = post(world.client("grid_1"), f"{URL}{case.pk}/claim")
    assert r.status_code in (403, 404, 409)


def test_whistle_report_in_and_rate_department(world):
    case = new_case(world, code="city-management")
    admin = world.client("admin")
    r = post(admin, f"{URL}{case.pk}/whistle", {"department_ids": [world.department.pk], "note": "占道"})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "whistled" and len(r.json()["whistle_calls"]) == 1
    # community staff may not whistle
    assert (
        post(world.client("staff_a"), f"{URL}{case.pk}/whistle", {"department_ids": [1]}).status_code == 404
    )
    r = post(world.client("department"), f"{URL}{case.pk}/report-in", {"note": "已到场"})
    assert r.status_code == 200, r.content
    assert r.json()["whistle_calls"][0]["reported_at"] is not None
    r = post(admin, f"{URL}{case.pk}/rate-department", {"department_id": world.department.pk, "rating": 6})
    assert r.status_code == 400 and r.json()["field"] == "rating"
    r = post(admin, f"{URL}{case.pk}/rate-department", {"department_id": world.department.pk, "rating": 5})
    assert r.status_code == 200 and r.json()["whistle_calls"][0]["rating"] == 5


def test_merge_keeps_the_duplicate_reporter_informed(world):
    a = new_case(world)
    b = new_case(world, description="楼顶漏水了")
    r = post(world.client("staff_a"), f"{URL}{b.pk}/merge", {"primary_id": a.pk})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "merged" and r.json()["merged_into"] == a.number
    # merging into a case out of scope is 404
    c = new_case(world, key="b1")
    d = new_case(world)
    assert post(world.client("staff_a"), f"{URL}{d.pk}/merge", {"primary_id": c.pk}).status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Lists, queue, detail


def _cases_for_lists(world):
    for i in range(3):
        new_case(world, key="a1", description=f"一网格漏水{i}")
    new_case(world, key="a2", code="public-order", description="二网格噪音")
    for i in range(2):
        new_case(world, key="b1", code="environment", description=f"富丰垃圾{i}")


def test_list_is_scoped_per_role_with_constant_queries(world, django_assert_max_num_queries):
    # given 4 cases in community A (3 in grid 1, 1 in grid 2) and 2 in community B (grid 3)
    _cases_for_lists(world)
    roles = [("admin", 6), ("staff_a", 4), ("staff_b", 2), ("grid_1", 3), ("grid_3", 2), ("volunteer", 0)]
    for role, expected in roles:
        client = world.client(role)
        client.get(URL)  # warm the session
        # when each role lists cases with a small and a big page
        with django_assert_max_num_queries(9):  # the envelope's capped count is one of them
            small = client.get(URL, {"page_size": 2})
        with django_assert_max_num_queries(9):
            big = client.get(URL, {"page_size": 50})
        # then they see exactly their scope, with the same bounded number of queries
        assert small.status_code == big.status_code == 200
        assert len(big.json()["items"]) == expected, role
        assert len(small.json()["items"]) == min(2, expected)
        assert small.json()["count"] == big.json()["count"] == expected


def test_list_filters(world):
    _cases_for_lists(world)
    client = world.client("admin")
    assert len(client.get(URL, {"category": "environment"}).json()["items"]) == 2
    assert len(client.get(URL, {"grid": world.grid_2.pk}).json()["items"]) == 1
    assert len(client.get(URL, {"state": "submitted", "channel": "hotline"}).json()["items"]) == 6
    assert len(client.get(URL, {"overdue": "true"}).json()["items"]) == 0
    assert len(client.get(URL, {"supervision": "normal", "page_size": 4, "page": 2}).json()["items"]) == 2
    r = client.get(URL, {"state": "nonsense"})
    assert r.status_code == 400 and r.json()["field"] == "state"
    assert client.get(URL, {"category": "nope"}).status_code == 400


def test_case_lists_count_up_to_their_cap_and_say_so(world, monkeypatch):
    # given 6 cases and the case lists' count cap lowered to 4 (it is 1,000)
    from tongxin.cases import api

    _cases_for_lists(world)
    monkeypatch.setattr(api, "LIST_COUNT_CAP", 4)
    client = world.client("admin")
    # when the subdistrict admin lists all cases, then the count stops at the cap and says there are more
    body = client.get(URL, {"page_size": 2}).json()
    assert (body["count"], body["count_capped"], len(body["items"])) == (4, True, 2)
    # and a page past the cap is still served
    assert [len(client.get(URL, {"page_size": 5, "page": p}).json()["items"]) for p in (1, 2)] == [5, 1]
    # when fewer cases match than the cap, the count is exact
    body = client.get(URL, {"grid": world.grid_2.pk}).json()
    assert (body["count"], body["count_capped"]) == (1, False)
    # and the queue counts the same way
    queue = client.get(f"{URL}queue").json()
    assert (queue["count"], queue["count_capped"]) == (4, True)


def test_queue_is_what_waits_for_the_caller_sorted_by_deadline(world, django_assert_max_num_queries):
    staff = world.users["staff_a"]
    worker = world.users["grid_1"]
    slow = new_case(world, code="complex", description="复杂")  # 15 working days
    fast = new_case(world, code="repairs-leak", description="漏水")  # 1 day
    other = new_case(world, code="repairs-small", description="灯坏了")
    for c in (slow, fast):
        services.dispatch(c.pk, staff, assignee=worker)
    services.dispatch(other.pk, staff, assignee=staff)
    client = world.client("grid_1")
    client.get(f"{URL}queue")
    with django_assert_max_num_queries(8):
        r = client.get(f"{URL}queue")
    assert [x["id"] for x in r.json()["items"]] == [fast.pk, slow.pk]


def test_detail_has_timeline_and_is_404_out_of_scope(world):
    case = new_case(world, contact_phone="13912345678", contact_name="赵六")
    services.accept(case.pk, world.users["staff_a"])
    r = world.client("staff_a").get(f"{URL}{case.pk}")
    assert r.status_code == 200
    body = r.json()
    assert [e["type"] for e in body["timeline"]] == ["submitted", "accepted"]
    assert body["contact_phone"] != "13912345678" and body["contact_phone"].endswith("5678")
    assert world.client("staff_b").get(f"{URL}{case.pk}").status_code == 404
    assert world.client("grid_3").get(f"{URL}{case.pk}").status_code == 404


def test_receipt_lookup_is_anonymous_and_shows_no_personal_data(world):
    from django.test import Client

    case = new_case(world, contact_phone="13912345678", contact_name="赵六", channel=Channel.SUGGESTION_BOX)
    services.accept(case.pk, world.users["staff_a"])
    services.resolve(case.pk, world.users["staff_a"], "已联系13912345678处理完毕")
    r = Client().get(f"{URL}receipt/{case.receipt_code.lower()}")
    assert r.status_code == 200, r.content
    text = r.content.decode()
    assert r.json()["state"] == CaseState.RESOLVED
    for secret in ("赵六", "13912345678", "501", world.residents["a1"].name):
        assert secret not in text
    assert Client().get(f"{URL}receipt/NOPE000000").status_code == 404


def test_categories_list(world):
    r = world.client("resident").get(f"{URL}categories/")
    codes = {c["code"] for c in r.json()["items"]}
    assert {"repairs-leak", "environment", "public-order"} <= codes


def test_suggest_endpoint_resolves_address_and_finds_duplicates(world):
    # given an open leak case at 锦绣江山3栋
    existing = new_case(world, description="3栋楼顶漏水，天花板滴水", now=timezone.now())
    client = world.client("staff_a")
    # when staff type a similar report with the address
    r = client.get(f"{URL}suggest", {"text": "楼顶漏水 天花板在滴水", "address": "锦绣江山3栋2单元501"})
    assert r.status_code == 200, r.content
    body = r.json()
    # then: categories (top 3 with confidence), the resolved dwelling, and the likely duplicate
    assert body["suggestions"][0]["code"] == "repairs-leak"
    assert len(body["suggestions"]) <= 3
    assert body["location"]["level"] == "dwelling"
    assert body["location"]["dwelling_id"] == world.dwellings["a1"].pk
    assert [d["id"] for d in body["duplicates"]] == [existing.pk]
    # staff of another community see no duplicates they may not see
    r = world.client("staff_b").get(f"{URL}suggest", {"text": "楼顶漏水", "address": "锦绣江山3栋2单元501"})
    assert r.json()["duplicates"] == []


def test_suggest_feedback_records_corrections(world):
    from tongxin.cases.routing.models import CategoryFeedback

    client = world.client("staff_a")
    r = post(
        client,
        f"{URL}suggest/feedback",
        {"text": "电动车乱停", "suggested": ["public-order"], "chosen": "parking"},
    )
    assert r.status_code == 201 and r.json()["corrected"] is True
    assert CategoryFeedback.objects.get().chosen.service_code == "parking"
    # residents cannot train the model
    r = post(world.client("resident"), f"{URL}suggest/feedback", {"text": "x", "chosen": "parking"})
    assert r.status_code == 404
    assert CategoryFeedback.objects.count() == 1
