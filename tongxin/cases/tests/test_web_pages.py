"""The workbench, case page, hotline intake and resident pages (server side; the browser tests drive them)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tongxin.cases import services
from tongxin.cases.choices import CaseState, Channel
from tongxin.cases.models import Case
from tongxin.cases.tests.core_fixtures import make_member, new_case


@pytest.fixture
def cases(world):
    # given two cases in community A (grids 1 and 2) and one in community B
    return {
        "a1": new_case(world, key="a1", now=None),
        "a2": new_case(world, key="a2", now=None, description="5栋楼道灯坏了"),
        "b1": new_case(world, key="b1", now=None, description="12栋门口垃圾堆积"),
    }


def test_workbench_lists_only_cases_in_scope_with_bounded_queries(
    world, cases, django_assert_max_num_queries
):
    c = world.client("grid_1")
    # when grid worker 1 opens "all cases"
    with django_assert_max_num_queries(12):
        r = c.get("/cases/?mine=0")
    body = r.content.decode()
    # then only their grid's case is listed
    assert r.status_code == 200
    assert cases["a1"].number in body
    assert cases["a2"].number not in body and cases["b1"].number not in body


def test_workbench_query_count_does_not_grow_with_rows(world, django_assert_max_num_queries):
    for i in range(12):
        new_case(world, key="a1", now=None, description=f"第{i}件 漏水")
    c = world.client("staff_a")
    with django_assert_max_num_queries(12):
        r = c.get("/cases/?mine=0")
    assert r.content.decode().count('data-case="') == 12


def test_filters_and_htmx_rows(world, cases):
    c = world.client("staff_a")
    r = c.get("/cases/", {"mine": "0", "grid": world.grid_2.pk}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert "<html" not in body  # only the rows, for the polling refresh
    assert cases["a2"].number in body and cases["a1"].number not in body
    r = c.get("/cases/", {"mine": "0", "channel": Channel.RESIDENT_APP})
    assert cases["a1"].number not in r.content.decode()


def test_grid_worker_gets_404_for_another_grids_case(world, cases):
    c = world.client("grid_1")
    assert c.get(f"/cases/{cases['a2'].pk}/").status_code == 404
    assert c.post(f"/cases/{cases['a2'].pk}/do/accept/").status_code == 404
    assert Case.objects.get(pk=cases["a2"].pk).state == CaseState.SUBMITTED


def test_actions_follow_state_table_and_role(world, cases):
    staff = world.client("staff_a")
    r = staff.get(f"/cases/{cases['a1'].pk}/")
    shown = set(r.context["actions"] and [a.name for a in r.context["actions"]])
    assert {"accept", "dispatch", "open-for-claiming", "reject", "merge"} <= shown
    assert "report-in" not in shown and "claim" not in shown and "follow-up" not in shown
    # property staff of the estate see nothing to do on an undispatched case
    r = world.client("property").get(f"/cases/{cases['a1'].pk}/")
    assert r.status_code in (200, 404)
    if r.status_code == 200:
        assert not {"accept", "dispatch"} & {a.name for a in r.context["actions"]}


def test_dispatch_then_resolve_through_the_case_page(world, cases):
    staff = world.client("staff_a")
    case = cases["a1"]
    r = staff.post(f"/cases/{case.pk}/do/dispatch/", {"target": f"user:{world.users['grid_1'].pk}"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.assignee == world.users["grid_1"]
    # a resolve without a result is refused and changes nothing
    worker = world.client("grid_1")
    worker.post(f"/cases/{case.pk}/do/resolve/", {"result": ""})
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED
    worker.post(f"/cases/{case.pk}/do/resolve/", {"result": "已修复"})
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and case.result == "已修复"


def test_action_not_allowed_in_state_changes_nothing(world, cases):
    staff = world.client("staff_a")
    case = cases["a1"]
    r = staff.post(f"/cases/{case.pk}/do/follow-up/", {"rating": "satisfied"}, follow=True)
    assert "不能回访" in r.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and not case.rating


def test_member_claims_from_workbench(world, cases):
    member = make_member(world, "member_1", key="a1", post="patrol")
    staff = world.client("staff_a")
    case = Case.objects.get(pk=cases["a1"].pk)
    services.accept(case, world.users["staff_a"])
    staff.post(f"/cases/{case.pk}/do/open-for-claiming/")
    case.refresh_from_db()
    assert case.state == CaseState.OPEN_FOR_CLAIMING
    c = Client()
    c.force_login(member)
    r = c.get(f"/cases/{case.pk}/")
    assert "claim" in [a.name for a in r.context["actions"]]
    c.post(f"/cases/{case.pk}/do/claim/")
    case.refresh_from_db()
    assert case.assignee == member and case.state == CaseState.DISPATCHED


def test_intake_lookups_are_scoped_and_masked(world):
    c = world.client("staff_a")
    d = c.get("/cases/intake/caller/", {"phone": "13900000001"}).json()
    assert d["residents"][0]["name"] == "张三" and d["residents"][0]["phone"] == "139****0001"
    assert "13900000001" not in str(d)
    # a caller from community B is not found by community A's staff
    assert c.get("/cases/intake/caller/", {"phone": "13900000003"}).json()["residents"] == []
    m = c.get("/cases/intake/address/", {"q": "锦绣江山3栋2单元501"}).json()["matches"]
    assert m[0]["exact"] and m[0]["dwelling"] == world.dwellings["a1"].pk
    a = c.get("/cases/intake/assist/", {"text": "楼顶漏水了", "dwelling": world.dwellings["a1"].pk}).json()
    assert a["suggestions"] and a["suggestions"][0]["code"].startswith("repairs")


def test_intake_records_a_hotline_case(world):
    c = world.client("staff_a")
    r = c.post(
        "/cases/intake/",
        {
            "phone": "13900000001",
            "contact_name": "张三",
            "resident": world.residents["a1"].pk,
            "dwelling": world.dwellings["a1"].pk,
            "description": "家里停水了",
            "category": "utilities",
            "suggested": "utilities",
        },
    )
    assert r.status_code == 302
    case = Case.objects.get(channel=Channel.HOTLINE)
    assert case.reporter == world.residents["a1"] and case.dwelling == world.dwellings["a1"]
    # the unknown category is refused with a message and nothing is recorded
    r = c.post("/cases/intake/", {"description": "x", "category": "nope", "address": "锦绣江山3栋2单元501"})
    assert r.status_code == 200 and Case.objects.count() == 1


def _png(name: str) -> SimpleUploadedFile:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def test_resident_submits_follows_and_rates(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = world.client("resident")
    r = c.get("/cases/m/new/")
    assert r.status_code == 200
    r = c.post(
        "/cases/m/new/",
        {"category": "repairs-leak", "where": "home", "description": "卫生间漏水", "photo": _png("leak.png")},
    )
    assert r.status_code == 302
    case = Case.objects.get(channel=Channel.RESIDENT_APP)
    assert case.dwelling == world.dwellings["a1"] and case.reporter == world.residents["a1"]
    assert case.photos.count() == 1
    assert c.get("/cases/m/").content.decode().count(f'href="/cases/m/{case.pk}/"') == 1
    services.dispatch(case, world.users["staff_a"], assignee=world.users["grid_1"])
    services.resolve(case, world.users["grid_1"], "已修好")
    r = c.get(f"/cases/m/{case.pk}/")
    assert "确认解决并评价" in r.content.decode()
    c.post(f"/cases/m/{case.pk}/rate/", {"rating": "satisfied", "comment": "很快"})
    case.refresh_from_db()
    assert case.rating == "satisfied"


def test_resident_cannot_open_someone_elses_case(world, cases):
    c = world.client("resident")
    assert c.get(f"/cases/m/{cases['a2'].pk}/").status_code == 404
    assert c.post(f"/cases/m/{cases['a2'].pk}/rate/", {"rating": "satisfied"}).status_code == 404


def test_suggestion_box_anonymous_with_receipt(world):
    c = Client()
    r = c.post("/cases/box/", {"description": "建议小区人工湖定期清理", "address": "锦绣江山"})
    assert r.status_code == 200
    case = Case.objects.get(channel=Channel.SUGGESTION_BOX)
    assert case.anonymous and case.reporter is None and case.receipt_code in r.content.decode()
    r = c.get("/cases/receipt/", {"number": case.number, "code": case.receipt_code})
    assert case.get_state_display() in r.content.decode()
    r = c.get("/cases/receipt/", {"number": case.number, "code": "WRONGCODE1"})
    assert "不正确" in r.content.decode()


def test_pages_switch_to_english(world, cases):
    # given a staff user who picked English with the switch in the top bar
    c = world.client("staff_a")
    c.post("/i18n/setlang/", {"language": "en", "next": "/cases/"})
    # then the workbench, the case page, the intake screen and the dashboard speak English
    assert "Case workbench" in c.get("/cases/").content.decode()
    assert "Available actions" in c.get(f"/cases/{cases['a1'].pk}/").content.decode()
    assert "Record a case" in c.get("/cases/intake/").content.decode()
    assert "Grids ranked" in c.get("/dashboard/").content.decode()
    # and the resident sign-in page too
    assert "Sign in with your phone" in c.get("/m/login/?again=1").content.decode()


def test_resident_photo_must_be_an_image(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = world.client("resident")
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    r = c.post(
        "/cases/m/new/", {"category": "repairs-leak", "where": "home", "description": "漏水", "photo": fake}
    )
    assert r.status_code == 200 and not Case.objects.exists()


def test_dispatch_to_the_estates_property_company_or_round_robin(world, cases):
    staff = world.client("staff_a")
    case = cases["a1"]
    r = staff.get(f"/cases/{case.pk}/")
    assert f'value="company:{world.property_company.pk}"' in r.content.decode()
    # round-robin with nobody on duty for the category: a clear message, nothing changes
    r = staff.post(f"/cases/{case.pk}/do/dispatch/", {"target": "auto"}, follow=True)
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and r.context["messages"]
    staff.post(f"/cases/{case.pk}/do/dispatch/", {"target": f"company:{world.property_company.pk}"})
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.property_company == world.property_company
    # the property company's staff now see it and may resolve it
    r = world.client("property").get(f"/cases/{case.pk}/")
    assert "resolve" in [a.name for a in r.context["actions"]]
