"""The import engine per kind: dwellings, households, residents, party members; scope and registry checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings as django_settings

from tongxin.core import pii
from tongxin.core.models import ImportJob
from tongxin.people.imports import KINDS, parse_date, read_table
from tongxin.people.models import Household, Membership, Resident
from tongxin.people.tests.import_helpers import RESIDENT_HEADER, csv_bytes, id_number, run, xlsx_bytes
from tongxin.regions.models import Dwelling

DWELLING_HEADER = [c.header for c in KINDS["dwellings"].columns]
HOUSEHOLD_HEADER = [c.header for c in KINDS["households"].columns]
PARTY_HEADER = [c.header for c in KINDS["party_members"].columns]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # autouse fixtures run before ``world``: its nine users need no slow password hashing here
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def resident(name, i, estate="锦绣江山", building="3栋", number="601", relation="户主", **extra):
    row = dict(zip(RESIDENT_HEADER, [""] * len(RESIDENT_HEADER), strict=True))
    row.update(
        {"姓名": name, "身份证号": id_number(i), "人口类型": "户籍", "小区": estate, "楼栋": building,
         "单元": "2单元", "房号": number, "与户主关系": relation}
    )  # fmt: skip
    row.update(extra)
    return [row[h] for h in RESIDENT_HEADER]


def errors(job: ImportJob) -> list[tuple[int, str]]:
    return [(e["row"], e["column"]) for e in job.errors]


# ------------------------------------------------------------------------------------------------ dwellings
def test_dwellings_create_update_then_unchanged(world):
    # given the world's flat 3栋2单元501 (89.50 m²) and a file adding two flats and correcting 501's area
    rows = [
        ["锦绣江山", "3栋", "2单元", "501", "5", "90.10"],
        ["锦绣江山", "3", "2", "601", "6", "120"],
        ["锦绣江山小区", "5号楼", "2单元", "101", "", ""],
    ]
    # when staff of the community imports it
    job = run(world.users["staff_a"], "dwellings", "房屋.xlsx", xlsx_bytes(DWELLING_HEADER, rows))
    # then two flats are created under the right entrances, with their grid, and 501 is updated
    assert job.status == "done", job.errors
    assert (job.created_count, job.updated_count) == (2, 1)
    d601 = Dwelling.objects.get(number="601")
    assert d601.entrance_id == world.dwellings["a1"].entrance_id and d601.grid_id == world.grid_1.pk
    assert d601.floor_area == Decimal("120.00") and d601.community_id == world.community_a.pk
    assert Dwelling.objects.get(pk=world.dwellings["a1"].pk).floor_area == Decimal("90.10")
    assert Dwelling.objects.get(number="101").grid_id == world.grid_2.pk
    # when the same file is imported again, then nothing changes
    job = run(world.users["staff_a"], "dwellings", "房屋.xlsx", xlsx_bytes(DWELLING_HEADER, rows))
    assert (job.status, job.created_count, job.updated_count) == ("done", 0, 0)
    assert Dwelling.objects.count() == 5


def test_dwellings_every_bad_row_reported_nothing_written(world):
    rows = [
        ["锦绣江山", "3栋", "2单元", "701", "7", "80"],
        ["锦绣江山", "3栋", "9单元", "701", "", ""],  # unknown entrance
        ["无此小区", "1栋", "1单元", "101", "", ""],  # unknown estate
        ["锦绣江山", "3栋", "2单元", "701", "", ""],  # same flat twice
        ["锦绣江山", "3栋", "2单元", "702", "七", "abc"],  # bad floor and area
        ["富丰新城", "12栋", "2单元", "901", "", ""],  # another community
        ["锦绣江山", "8栋", "2单元", "101", "", ""],  # unknown building
    ]
    job = run(world.users["staff_a"], "dwellings", "房屋.csv", csv_bytes(DWELLING_HEADER, rows, "utf-8-sig"))
    assert job.status == "failed"
    assert errors(job) == [
        (3, "单元"),
        (4, "小区"),
        (5, "房号"),
        (6, "楼层"),
        (6, "建筑面积"),
        (7, "小区"),
        (8, "楼栋"),
    ]
    assert "管辖范围" in job.errors[5]["message"]
    assert Dwelling.objects.count() == 3


def test_missing_required_column_is_reported_on_row_1(world):
    job = run(
        world.users["staff_a"],
        "dwellings",
        "房屋.csv",
        csv_bytes(["小区", "楼栋", "房号"], [["锦绣江山", "3栋", "1"]]),
    )
    assert job.status == "failed"
    assert job.errors == [{"row": 1, "column": "单元", "message": "缺少必填列“单元”"}]


def test_unreadable_files_fail_cleanly(world):
    job = run(world.users["staff_a"], "dwellings", "房屋.xlsx", b"not a zip file")
    assert job.status == "failed" and job.errors[0]["row"] == 0
    job = run(world.users["staff_a"], "dwellings", "房屋.txt", b"a,b")
    assert job.status == "failed"


# ------------------------------------------------------------------------------------------------ residents
def test_residents_household_members_join_their_head(world):
    rows = [
        resident(
            "赵一",
            101,
            联系电话="13800000101",
            标签="独居老人，退役军人",
            户号="H601",
            楼层="6",
            建筑面积="100",
        ),
        resident("赵二", 102, relation="配偶"),
        resident("赵三", 103, relation="子女", 户主身份证号=id_number(101)),
        # joins the world's existing household in 501, headed by 张三
        resident("张小三", 104, number="501", relation="子女"),
    ]
    job = run(world.users["staff_a"], "residents", "居民.xlsx", xlsx_bytes(RESIDENT_HEADER, rows))
    assert job.status == "done", job.errors
    assert job.created_count == 4
    head = Resident.objects.get(name="赵一")
    household = Household.objects.get(head=head)
    assert household.number == "H601" and household.dwelling.number == "601"
    assert set(Resident.objects.filter(household=household).values_list("name", flat=True)) == {
        "赵一",
        "赵二",
        "赵三",
    }
    assert head.gender in ("M", "F") and head.birth_date is not None
    assert head.phone_masked == "138****0101" and pii.decrypt(head.phone_enc) == "13800000101"
    assert sorted(head.tags.values_list("code", flat=True)) == ["elderly_alone", "veteran"]
    child = Resident.objects.get(name="张小三")
    assert child.household_id == world.residents["a1"].household_id
    assert Membership.objects.filter(resident=child, moved_out_on__isnull=True, relation="child").exists()


def test_residents_move_keeps_history(world):
    # given 赵一 imported into 601
    run(world.users["staff_a"], "residents", "a.csv", csv_bytes(RESIDENT_HEADER, [resident("赵一", 101)]))
    first = Membership.objects.get(resident__name="赵一")
    # when a later file places them as a member of 张三's household in 501
    job = run(
        world.users["staff_a"],
        "residents",
        "b.csv",
        csv_bytes(RESIDENT_HEADER, [resident("赵一", 101, number="501", relation="配偶")]),
    )
    # then they move: the old stay is closed, a new one opened, nothing deleted
    assert (job.status, job.created_count, job.updated_count) == ("done", 0, 1)
    person = Resident.objects.get(name="赵一")
    assert person.dwelling_id == world.dwellings["a1"].pk and person.relation == "spouse"
    first.refresh_from_db()
    assert first.moved_out_on == dt.date.today() or first.moved_out_on is not None
    assert Membership.objects.filter(resident=person).count() == 2
    assert (
        Membership.objects.filter(resident=person, moved_out_on__isnull=True).get().household_id
        == world.residents["a1"].household_id
    )


def test_residents_row_errors_and_scope(world):
    rows = [
        resident("甲", 201, 人口类型="外星"),  # unknown residence status
        resident("乙", 202, 标签="独居老人、不存在的标签"),  # unknown tag
        resident("丙", 203, relation="邻居"),  # unknown relation
        resident("丁", 204, estate="富丰新城", building="12栋"),  # another community
        resident("戊", 205, number="801", relation="子女"),  # flat without a head
        resident("", 206),  # no name
        resident("己", 207, 身份证号="42900419800101001"),  # 17 characters
        resident("庚", 208, 身份证号=id_number(201)),  # same person as row 2
        resident("辛", 209, 身份证号=world_id(3)),  # 王五, registered in community B
        resident(
            "壬", 210, number="901", relation="子女", 户主身份证号=id_number(211)
        ),  # head not in that flat
    ]
    job = run(world.users["staff_a"], "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, rows))
    assert job.status == "failed"
    assert errors(job) == [
        (2, "人口类型"),
        (3, "标签"),
        (4, "与户主关系"),
        (5, "小区"),
        (6, "与户主关系"),
        (7, "姓名"),
        (8, "身份证号"),
        (9, "身份证号"),
        (10, "身份证号"),
        (11, "户主身份证号"),
    ]
    assert "不存在的标签" in job.errors[1]["message"]
    assert "第2行" in job.errors[7]["message"]
    assert "管辖范围" in job.errors[8]["message"]
    assert Resident.objects.count() == 3


def world_id(seq: int) -> str:
    """The id number the shared world fixture gave resident ``seq`` (see tongxin/conftest.py)."""
    female = False
    return pii.generate_id_number("429004", dt.date(1960 + seq % 40, 1 + seq % 12, 1 + seq % 28), seq, female)


def test_subdistrict_admin_imports_anywhere_in_the_subdistrict(world):
    rows = [resident("甲", 301, estate="富丰新城", building="12栋"), resident("乙", 302)]
    job = run(world.users["admin"], "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, rows, "utf-8"))
    assert (job.status, job.created_count) == ("done", 2)


def test_foreign_residents_use_their_passport(world):
    rows = [resident("John Smith", 0, 身份证号="E12345678", 人口类型="境外")]
    job = run(world.users["staff_a"], "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, rows))
    assert job.status == "done", job.errors
    person = Resident.objects.get(name="John Smith")
    assert person.id_kind == "passport" and person.residence_status == "foreign" and person.id_last4 == "5678"


def test_only_importing_roles_may_run_an_import(world):
    job = run(world.users["grid_1"], "residents", "居民.csv", csv_bytes(RESIDENT_HEADER, [resident("甲", 1)]))
    assert job.status == "failed" and Resident.objects.count() == 3


# ----------------------------------------------------------------------------------------------- households
def test_households_place_registered_people_as_heads(world):
    # given 李四 (grid 2) registered in 5栋2单元501; when a households file makes them head of 3栋2单元601
    rows = [
        ["锦绣江山", "3栋", "2单元", "601", world_id(2), "H-601", "2024-03-01", "6", "110"],
        ["锦绣江山", "3栋", "2单元", "602", id_number(999), "", "", "", ""],  # not registered
        ["富丰新城", "12栋", "2单元", "501", world_id(3), "", "", "", ""],  # out of scope
        ["锦绣江山", "3栋", "2单元", "603", world_id(1), "", "2024-02-30", "", ""],  # bad date
    ]
    job = run(world.users["staff_a"], "households", "家庭.xlsx", xlsx_bytes(HOUSEHOLD_HEADER, rows))
    assert job.status == "failed"
    assert errors(job) == [(3, "户主身份证号"), (4, "小区"), (5, "入住日期")]
    assert Household.objects.count() == 3
    # when only the good row is imported
    job = run(world.users["staff_a"], "households", "家庭.xlsx", xlsx_bytes(HOUSEHOLD_HEADER, rows[:1]))
    assert (job.status, job.created_count) == ("done", 1)
    li = Resident.objects.get(pk=world.residents["a2"].pk)
    household = Household.objects.get(head=li, ended_on__isnull=True, dwelling__number="601")
    assert household.number == "H-601" and household.started_on == dt.date(2024, 3, 1)
    assert li.household_id == household.pk and li.dwelling.number == "601"
    # again: unchanged
    job = run(world.users["staff_a"], "households", "家庭.xlsx", xlsx_bytes(HOUSEHOLD_HEADER, rows[:1]))
    assert (job.status, job.created_count, job.updated_count) == ("done", 0, 0)


# ------------------------------------------------------------------------------------------- party members
def test_party_members_create_update_and_errors(world):
    from tongxin.party.models import CoBuildingUnit, PartyMember, ServicePost

    ServicePost.objects.create(community=world.community_a, code="patrol", name="治安巡逻")
    unit = CoBuildingUnit.objects.create(name="仙桃市住房和城乡建设局")
    rows = [
        [world_id(1), "在职党员", "", "仙桃市住房和城乡建设局", "治安巡逻", "2001-07-01", "2023/3/15"],
        [world_id(2), "居民党员", "", "", "", "", ""],
    ]
    job = run(world.users["staff_a"], "party_members", "党员.xlsx", xlsx_bytes(PARTY_HEADER, rows))
    assert (job.status, job.created_count) == ("done", 2), job.errors
    member = PartyMember.objects.get(resident=world.residents["a1"])
    assert member.member_type == "dual_registered" and member.employer_id == unit.pk
    assert member.service_post.name == "治安巡逻" and member.reported_in_on == dt.date(2023, 3, 15)
    # again with one change: updated, not duplicated
    rows[1][1] = "年老体弱党员"
    job = run(world.users["staff_a"], "party_members", "党员.xlsx", xlsx_bytes(PARTY_HEADER, rows))
    assert (job.status, job.created_count, job.updated_count) == ("done", 0, 1)
    assert PartyMember.objects.count() == 2
    # errors: unknown type, unknown post, unregistered person, out of scope, bad date
    bad = [
        [id_number(556), "党员", "", "", "", "", ""],
        [world_id(2), "居民党员", "", "", "不存在的岗位", "", ""],
        [id_number(555), "居民党员", "", "", "", "", ""],
        [world_id(3), "居民党员", "", "", "", "", ""],
        [world_id(1), "居民党员", "", "", "", "2001-13-01", ""],
    ]
    job = run(world.users["staff_a"], "party_members", "党员.xlsx", xlsx_bytes(PARTY_HEADER, bad))
    assert job.status == "failed"
    assert errors(job) == [
        (2, "党员类型"),
        (3, "服务岗位"),
        (4, "身份证号"),
        (5, "身份证号"),
        (6, "入党日期"),
    ]


# ------------------------------------------------------------------------------------------------- reading
def test_csv_encodings_and_dates():
    header = ["小区", "楼栋"]
    for encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030"):
        table = read_table(csv_bytes(header, [["锦绣江山", "3栋"]], encoding), "x.csv")
        assert table.header == header and list(table.rows) == [(2, ["锦绣江山", "3栋"])]
    assert (
        parse_date("2024/3/5") == parse_date("2024年3月5日") == parse_date("20240305") == dt.date(2024, 3, 5)
    )
    with pytest.raises(ValueError):
        parse_date("2024-02-30")


# ---------------------------------------------------------------------------------------------------- writer
def test_writer_refuses_rows_someone_else_wrote_meanwhile(world):
    """The writer's INSERT ... ON CONFLICT DO NOTHING (PostgreSQL) or plain bulk insert (SQLite) never
    silently drops a row: a flat created between validation and writing aborts the whole import."""
    from django.db import IntegrityError, transaction

    from tongxin.people.imports import RegistryChanged, Writer

    d = world.dwellings["a1"]
    columns = [
        "entrance_id",
        "building_id",
        "estate_id",
        "community_id",
        "subdistrict_id",
        "grid_id",
        "number",
    ]
    taken = (d.entrance_id, d.building_id, d.estate_id, d.community_id, d.subdistrict_id, d.grid_id, "501")
    fresh = (*taken[:-1], "502")
    with pytest.raises((RegistryChanged, IntegrityError)), transaction.atomic():
        Writer().insert(Dwelling, columns, [fresh, taken])
    assert not Dwelling.objects.filter(number="502").exists()


@pytest.mark.postgres_only
@pytest.mark.skipif(not django_settings.IS_POSTGRES, reason="COPY needs PostgreSQL")
def test_writer_stages_with_copy_and_updates_from_the_temp_table(world):
    from django.db import connection, transaction

    from tongxin.people.imports import Writer

    ids = [world.dwellings["a1"].pk, world.dwellings["a2"].pk]
    with transaction.atomic():
        writer = Writer()
        writer.update(Dwelling, ["floor", "floor_area"], [(ids[0], 7, Decimal("70.00")), (ids[1], 8, None)])
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE '_import_%%' AND relpersistence = 't'"
            )
            assert cur.fetchone()[0] == 0  # staging tables are dropped as soon as they are applied
    assert list(Dwelling.objects.filter(pk__in=ids).order_by("pk").values_list("floor", "floor_area")) == [
        (7, Decimal("70.00")),
        (8, None),
    ]
