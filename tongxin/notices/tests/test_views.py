"""Pages and API of notices and leaders: who sees what, the people pages and roster carrying the leaders, the
leaders import, query budgets."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongxin.core.models import ImportJob
from tongxin.notices import leaders, services
from tongxin.notices.choices import Action, LeaderRole, ReceiptStatus
from tongxin.notices.models import LeaderAssignment, Receipt
from tongxin.notices.tests.conftest import add_household


def _sent(world, staff="staff_a", **kw):
    defaults = dict(title="安心码", body="请扫码登记", target=world.estate_a, action=Action.CONFIRM)
    defaults.update(kw)
    return services.send(world.users[staff], services.create(world.users[staff], **defaults))


def _leader(world, key="a1", username="leader_a1"):
    r = add_household(world, key, "801", "周九", 31, account=username)
    leaders.assign(
        world.users["staff_a"],
        role=LeaderRole.ENTRANCE_LEADER,
        resident=r,
        place=world.dwellings[key].entrance,
    )
    return r


def test_staff_assign_a_leader_on_the_building_page_and_it_shows_on_household_and_grid_pages(world):
    building = world.dwellings["a1"].building
    client = world.client("staff_a")
    page = client.get(f"/notices/leaders/building/{building.pk}/")
    assert page.status_code == 200 and "任命" in page.content.decode()
    # when community staff make 张三 the building leader
    response = client.post(
        f"/notices/leaders/building/{building.pk}/",
        {"role": LeaderRole.BUILDING_LEADER, "place": building.pk, "resident": world.residents["a1"].pk},
    )
    assert response.status_code == 302
    assert LeaderAssignment.objects.filter(role="building_leader", resident=world.residents["a1"]).exists()
    # then the household page and the grid page name him
    house = client.get(f"/people/dwellings/{world.dwellings['a1'].pk}/").content.decode()
    assert 'id="dwelling-leaders"' in house and "张三（楼栋长）" in house
    grid = client.get(f"/people/grids/{world.grid_1.pk}/").content.decode()
    assert 'id="grid-leaders-slot"' in grid  # loads its leaders from the fragment
    fragment = client.get(f"/notices/leaders/grid/{world.grid_1.pk}/").content.decode()
    assert 'id="grid-leaders"' in fragment and "张三" in fragment
    assert world.client("grid_3").get(f"/notices/leaders/grid/{world.grid_1.pk}/").status_code == 404
    # and the estate list shows it
    listing = client.get(f"/notices/leaders/?estate={world.estate_a.pk}").content.decode()
    assert f'data-building="{building.pk}"' in listing and "张三" in listing


def test_leader_pages_are_out_of_reach_for_others(world):
    building = world.dwellings["a1"].building
    # property staff may look at the leaders of their estate but not assign
    page = world.client("property").get(f"/notices/leaders/building/{building.pk}/").content.decode()
    assert "张三" not in page and 'name="role"' not in page
    # staff of the other community and residents get 404
    assert world.client("staff_b").get(f"/notices/leaders/building/{building.pk}/").status_code == 404
    assert world.client("resident").get("/notices/leaders/").status_code == 404
    assert world.client("resident").get("/notices/leader/").status_code == 404
    # a cadre must be a dual-registered member; a neighbour from another building may not lead this one
    with pytest.raises(ValidationError):
        leaders.assign(
            world.users["staff_a"],
            role=LeaderRole.BUILDING_LEADER,
            resident=world.residents["a2"],
            place=building,
        )
    with pytest.raises(ValidationError):
        leaders.assign(
            world.users["staff_a"],
            role=LeaderRole.BUILDING_LEADER,
            resident=world.residents["a1"],
            place=building,
            cadre=True,
        )


def test_paired_building_leaders_with_a_dual_registered_cadre(world):
    from tongxin.party.models import PartyMember

    building = world.dwellings["a1"].building
    PartyMember.objects.create(resident=world.residents["a2"], member_type="dual_registered")
    leaders.assign(
        world.users["staff_a"],
        role=LeaderRole.BUILDING_LEADER,
        resident=world.residents["a1"],
        place=building,
    )
    leaders.assign(
        world.users["staff_a"],
        role=LeaderRole.BUILDING_LEADER,
        resident=world.residents["a2"],
        place=building,
        cadre=True,
    )
    assert leaders.by_building([building.pk])[building.pk].paired
    assert (
        "双楼长" in world.client("staff_a").get(f"/notices/leaders/building/{building.pk}/").content.decode()
    )


def test_roster_export_has_the_leader_columns(world):
    _leader(world)
    response = world.client("staff_a").get("/people/roster/export/", {"grid": world.grid_1.pk})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[-4:] == ["楼栋长", "单元长", "层管员", "党员中心户"]
    column = header.index("单元长")
    assert {r[column] for r in rows[1:]} == {"周九"}


def test_leaders_import_creates_assignments_and_reports_bad_rows(world):
    from tongxin.people.imports import KINDS, run_import
    from tongxin.people.tests.import_helpers import xlsx_bytes

    zhou = add_household(world, "a1", "801", "周九", 31)
    header = [c.header for c in KINDS["leaders"].columns]
    from tongxin.core import pii

    good = ["锦绣江山", "3栋", "2单元", "", "单元长", pii.decrypt(zhou.id_number_enc), "否"]
    bad = ["锦绣江山", "5栋", "", "", "楼栋长", pii.decrypt(zhou.id_number_enc), "否"]  # lives in 3栋
    job = ImportJob.objects.create(kind="leaders", created_by=world.users["staff_a"], original_name="l.xlsx")
    run_import(
        job,
        xlsx_bytes(header, [good, bad]),
    )
    job.refresh_from_db()
    assert job.status == "failed" and job.errors[0]["row"] == 3
    job = ImportJob.objects.create(kind="leaders", created_by=world.users["staff_a"], original_name="l.xlsx")
    run_import(job, xlsx_bytes(header, [good]))
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 1
    assert LeaderAssignment.objects.get().resident_id == zhou.pk


def test_household_reads_on_the_phone_and_cannot_open_another_households_notice(world):
    notice = _sent(world)
    client = world.client("resident")
    mine = client.get("/notices/m/").content.decode()
    assert f'data-notice="{notice.pk}"' in mine
    page = client.get(f"/notices/m/{notice.pk}/").content.decode()
    assert "已读" in page
    assert (
        Receipt.objects.get(notice=notice, household=world.residents["a1"].household).status
        == ReceiptStatus.READ
    )
    client.post(f"/notices/m/{notice.pk}/respond/")
    assert (
        Receipt.objects.get(notice=notice, household=world.residents["a1"].household).status
        == ReceiptStatus.CONFIRMED
    )
    other = _sent(world, "staff_b", title="富丰新城停水", target=world.estate_b)
    assert client.get(f"/notices/m/{other.pk}/").status_code == 404
    assert world.client("staff_b").get(f"/notices/{notice.pk}/").status_code == 404


def test_leader_home_lists_their_households_and_pending_notices(world):
    _leader(world)
    notice = _sent(world)
    client = world.client("resident")  # 张三 is not a leader
    assert client.get("/notices/leader/").status_code == 404
    from django.test import Client

    from tongxin.conftest import PASSWORD

    leader = Client()
    assert leader.login(username="leader_a1", password=PASSWORD)
    home = leader.get("/notices/leader/").content.decode()
    assert "周九" in home and "张三" in home and "501" in home
    assert "李四" not in home  # 5栋 is not his
    page = leader.get(f"/notices/leader/{notice.pk}/").content.decode()
    assert "确认已转达" in page and 'data-receipt="' in page
    assert "139" not in home + page  # no phones


def test_coverage_page_query_count_does_not_grow_with_households(world):
    client = world.client("staff_a")
    notice = _sent(world)

    def count() -> int:
        with CaptureQueriesContext(connection) as q:
            assert client.get(f"/notices/{notice.pk}/coverage/").status_code == 200
        return len(q)

    small = count()
    for i in range(12):
        add_household(world, "a1" if i % 2 else "a2", f"{9 + i // 2}0{i % 2 + 1}", f"住户{i}", 60 + i)
    notice2 = _sent(world, title="第二条")
    notice = notice2
    assert count() <= small


def test_api_list_coverage_respond_and_batch(world):
    add_household(world, "a1", "801", "周九", 31)
    notice = _sent(world)
    staff = world.client("staff_a")
    listing = staff.get("/api/v1/notices/").json()
    assert listing["count"] == 1 and listing["items"][0]["households"] == 3
    cov = staff.get(f"/api/v1/notices/{notice.pk}/coverage").json()
    assert cov["total"]["households"] == 3 and {r["name"] for r in cov["rows"]} == {"3栋", "5栋"}
    ok = world.client("resident").post(
        f"/api/v1/notices/{notice.pk}/respond",
        json.dumps({"status": "confirmed"}),
        content_type="application/json",
    )
    assert ok.json() == {"moved": True}
    ids = list(Receipt.objects.filter(notice=notice).values_list("household_id", flat=True))
    batch = staff.post(
        f"/api/v1/notices/{notice.pk}/receipts",
        json.dumps({"household_ids": ids, "channel": "phone"}),
        content_type="application/json",
    )
    assert batch.json() == {"moved": 2}  # the one already confirmed does not move
    assert world.client("staff_b").get(f"/api/v1/notices/{notice.pk}").status_code == 404
    from django.test import Client

    assert Client().get("/api/v1/notices/").status_code == 401
