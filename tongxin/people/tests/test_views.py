"""Staff pages of the registry: scope per role, masking, reveal, search, filters, forms and query counts."""

from __future__ import annotations

import datetime as dt
import io

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from tongxin.conftest import make_resident
from tongxin.core import pii
from tongxin.core.models import AuditLog
from tongxin.party.models import Organisation, PartyMember
from tongxin.people.models import Resident, Tag

ALL_ROLES = (
    "admin",
    "staff_a",
    "staff_b",
    "grid_1",
    "grid_3",
    "property",
    "department",
    "volunteer",
    "resident",
)
# Which of the world's residents (by dwelling key) each role may open in the web UI.
SEES = {
    "admin": {"a1", "a2", "b1"},
    "staff_a": {"a1", "a2"},
    "staff_b": {"b1"},
    "grid_1": {"a1"},
    "grid_3": {"b1"},
    "property": set(),  # they serve the estate, not its registry (people/policy.py)
    "department": set(),
    "volunteer": set(),
    "resident": set(),
}


def clear_values(world) -> list[str]:
    values = []
    for r in Resident.objects.all():
        values += [pii.decrypt(r.id_number_enc), pii.decrypt(r.phone_enc)]
    return [v for v in values if v]


def names_on(response) -> set[str]:
    return {r.name for r in response.context["page"].object_list}


def test_anonymous_users_are_sent_to_login(world):
    # given an anonymous visitor, when they open any registry page, then they are redirected to the login page
    c = Client()
    d = world.dwellings["a1"]
    for url in (
        reverse("people:resident_list"),
        reverse("people:resident_detail", args=[world.residents["a1"].pk]),
        reverse("people:resident_create"),
        reverse("people:household_detail", args=[d.pk]),
        reverse("people:grid_detail", args=[world.grid_1.pk]),
        reverse("people:roster_export") + f"?grid={world.grid_1.pk}",
    ):
        response = c.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login")), url
    # and a reveal attempt is redirected too, without an audit record
    response = c.post(reverse("people:resident_reveal", args=[world.residents["a1"].pk, "id_number"]))
    assert response.status_code == 302 and not AuditLog.objects.filter(action="reveal").exists()


def test_each_role_sees_exactly_its_residents(world):
    for role in ALL_ROLES:
        c = world.client(role)
        # when the user opens the resident list
        response = c.get(reverse("people:resident_list"))
        if SEES[role]:
            # then it lists the residents in their scope and nobody else
            assert response.status_code == 200
            assert names_on(response) == {world.residents[k].name for k in SEES[role]}, role
        else:
            # then roles without the registry get 404
            assert response.status_code == 404, role
        for key, resident in world.residents.items():
            # and each detail and household page answers 200 inside the scope and 404 outside it
            expected = 200 if key in SEES[role] else 404
            detail = c.get(reverse("people:resident_detail", args=[resident.pk]))
            assert detail.status_code == expected, (role, key)
            household = c.get(reverse("people:household_detail", args=[world.dwellings[key].pk]))
            assert household.status_code == expected, (role, key)


def test_no_page_shows_a_clear_id_number_or_phone(world):
    # given every page a subdistrict admin and a grid worker can open, with a party member and tags
    PartyMember.objects.create(resident=world.residents["a1"], member_type="dual_registered")
    world.residents["a1"].tags.set(Tag.objects.filter(code__in=["watched", "elderly_alone"]))
    secrets = clear_values(world)
    assert len(secrets) == 6
    pages = [reverse("people:resident_list"), reverse("people:resident_list") + "?q=张三"]
    for key, r in world.residents.items():
        pages += [
            reverse("people:resident_detail", args=[r.pk]),
            reverse("people:resident_edit", args=[r.pk]),
            reverse("people:household_detail", args=[world.dwellings[key].pk]),
        ]
    for g in (world.grid_1, world.grid_2, world.grid_3):
        pages.append(reverse("people:grid_detail", args=[g.pk]))
    pages += [reverse("regions:tree"), reverse("party:member_list"), reverse("party:org_tree")]
    pages += [
        reverse("regions:node", args=[r.pk]) for r in (world.subdistrict, world.estate_a, world.estate_b)
    ]
    for role in ("admin", "staff_a", "grid_1", "property"):
        c = world.client(role)
        for url in pages:
            response = c.get(url)
            html = response.content.decode()
            # then no clear value appears anywhere in the HTML (masked forms do)
            for secret in secrets:
                assert secret not in html, (role, url)
    html = (
        world.client("admin").get(reverse("people:resident_detail", args=[world.residents["a1"].pk])).content
    )
    assert world.residents["a1"].id_number_masked in html.decode()


def test_reveal_shows_one_value_and_leaves_an_audit_record(world):
    zhang = world.residents["a1"]
    clear_id = pii.decrypt(zhang.id_number_enc)
    clear_phone = pii.decrypt(zhang.phone_enc)
    url_id = reverse("people:resident_reveal", args=[zhang.pk, "id_number"])
    url_phone = reverse("people:resident_reveal", args=[zhang.pk, "phone"])
    # given community staff of 张三's community: the detail page offers both reveal buttons
    staff = world.client("staff_a")
    detail = staff.get(reverse("people:resident_detail", args=[zhang.pk])).content.decode()
    assert url_id in detail and url_phone in detail
    # when they reveal the id number
    response = staff.post(url_id)
    # then the page shows that one value (and not the phone), is not cached, and an audit record exists
    html = response.content.decode()
    assert response.status_code == 200 and clear_id in html and clear_phone not in html
    assert "no-store" in response["Cache-Control"]
    log = AuditLog.objects.get(action="reveal")
    assert (log.actor, log.object_id, log.field) == (world.users["staff_a"], str(zhang.pk), "id_number")
    # and a GET cannot reveal
    assert staff.get(url_id).status_code == 405
    # given a grid worker of the same grid: phone yes, id number no (404), and no button for the id number
    grid_1 = world.client("grid_1")
    detail = grid_1.get(reverse("people:resident_detail", args=[zhang.pk])).content.decode()
    assert url_phone in detail and url_id not in detail
    assert grid_1.post(url_id).status_code == 404
    assert clear_phone in grid_1.post(url_phone).content.decode()
    # and roles that may not reveal get 404 and leave no reveal record
    for role in ("grid_3", "staff_b", "property", "department", "volunteer", "resident"):
        assert world.client(role).post(url_id).status_code == 404, role
        assert world.client(role).post(url_phone).status_code == 404, role
    assert AuditLog.objects.filter(action="reveal").count() == 2


def test_search_by_name_last4_whole_number_and_address(world):
    c = world.client("admin")
    zhang = world.residents["a1"]
    clear_id = pii.decrypt(zhang.id_number_enc)
    cases = {
        "张": {"张三"},
        "张三": {"张三"},
        clear_id[-4:]: {"张三"},
        "0002": {"李四"},  # last 4 of 李四's phone 13900000002
        clear_id: {"张三"},
        "13900000003": {"王五"},
        "锦绣江山3栋2单元501": {"张三"},
        "锦绣江山": {"张三", "李四"},
        "富丰新城12栋": {"王五"},
        "赵": set(),
    }
    for q, expected in cases.items():
        response = c.get(reverse("people:resident_list"), {"q": q})
        assert names_on(response) == expected, q
    # and a grid worker searching the other grid's address finds nobody
    response = world.client("grid_1").get(reverse("people:resident_list"), {"q": "锦绣江山5栋2单元501"})
    assert names_on(response) == set()


def test_filters_tags_status_member_type_grid(world):
    zhang, li, wang = world.residents["a1"], world.residents["a2"], world.residents["b1"]
    zhang.tags.set(Tag.objects.filter(code="watched"))
    li.tags.set(Tag.objects.filter(code="elderly_alone"))
    Resident.objects.filter(pk=wang.pk).update(residence_status="migrant")
    PartyMember.objects.create(resident=li, member_type="dual_registered")
    url = reverse("people:resident_list")
    admin = world.client("admin")
    assert names_on(admin.get(url, {"tag": "elderly_alone"})) == {"李四"}
    assert names_on(admin.get(url, {"tag": "watched"})) == {"张三"}
    assert names_on(admin.get(url, {"residence_status": "migrant"})) == {"王五"}
    assert names_on(admin.get(url, {"member_type": "dual_registered"})) == {"李四"}
    assert names_on(admin.get(url, {"grid": world.grid_2.pk})) == {"李四"}
    assert names_on(admin.get(url, {"region": world.community_b.pk})) == {"王五"}
    # the restricted tag is shown on the detail page to community staff
    detail = reverse("people:resident_detail", args=[zhang.pk])
    assert "重点人员" in world.client("staff_a").get(detail).content.decode()
    # property staff have no resident list to filter at all
    assert world.client("property").get(url, {"tag": "watched"}).status_code == 404
    # a grid outside the user's scope is not a valid choice: nobody is listed
    assert names_on(world.client("grid_1").get(url, {"grid": world.grid_3.pk})) == set()
    # moved-out residents are hidden by default and listed with status=moved_out
    Resident.objects.filter(pk=wang.pk).update(status="moved_out")
    assert names_on(admin.get(url)) == {"张三", "李四"}
    assert names_on(admin.get(url, {"status": "moved_out"})) == {"王五"}


def _add_residents(dwelling, n: int, start: int) -> None:
    org = Organisation.objects.create(kind="grid_branch", name=f"支部{start}")
    for i in range(n):
        r = make_resident(dwelling, f"测试{start + i}", start + i)
        r.tags.set(Tag.objects.filter(code__in=["elderly_alone", "disabled"]))
        if i % 2:
            PartyMember.objects.create(resident=r, member_type="resident", organisation=org)


def real_queries(ctx: CaptureQueriesContext) -> int:
    # The test transaction wraps the session save in SAVEPOINT/RELEASE; a real request does not run those.
    return sum(1 for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")))


def _count_queries(client: Client, url: str, rows: int, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == rows
    return real_queries(ctx)


def test_resident_list_query_count_does_not_grow_with_the_page(world):
    # given community staff with the world's 2 residents in their community
    c = world.client("staff_a")
    url = reverse("people:resident_list")
    c.get(url)  # the process's memos warm (scope, places): the counts compare page sizes, not a cold start
    small = _count_queries(c, url, 2)
    # when the community grows to a full page of 50 with tags and party members
    _add_residents(world.dwellings["a2"], 50, 100)
    # then the full page costs the same number of queries, and few
    # (+2 for the audit row's hash chain: the chain lock on PostgreSQL and the previous row's hash)
    assert _count_queries(c, url, 50) == small <= 12
    # and searching by address (2 small lookups to resolve it) with a tag filter adds no per-row queries
    c.get(url, {"q": "锦绣江山", "tag": "disabled"})  # the estates an address is matched against, memoised
    by_address = _count_queries(c, url, 50, {"q": "锦绣江山", "tag": "disabled"})
    _add_residents(world.dwellings["a2"], 10, 400)
    assert _count_queries(c, url, 50, {"q": "锦绣江山", "tag": "disabled"}) == by_address <= small + 2
    # and the second page holds the rest
    assert len(c.get(url, {"page": 2}).context["page"].object_list) == 12


def test_grid_roster_page_and_export(world):
    # given grid 1 where 张三 heads a household and a party member lives
    PartyMember.objects.create(resident=world.residents["a1"], member_type="resident")
    url = reverse("people:grid_detail", args=[world.grid_1.pk])
    # when its grid worker opens the grid page
    response = world.client("grid_1").get(url)
    # then the roster shows estate, building, entrance, head and the party household mark
    assert response.status_code == 200
    rows = list(response.context["page"].object_list)
    assert [
        (d.estate.name, d.building.name, d.entrance.name, d.head_name, d.party_household) for d in rows
    ] == [("锦绣江山", "3栋", "2单元", "张三", True)]
    assert world.grid_1.code in response.content.decode()
    # and another grid is 404 for them, while community staff see both grids of their community
    assert (
        world.client("grid_1").get(reverse("people:grid_detail", args=[world.grid_3.pk])).status_code == 404
    )
    assert (
        world.client("staff_a").get(reverse("people:grid_detail", args=[world.grid_2.pk])).status_code == 200
    )
    assert (
        world.client("staff_a").get(reverse("people:grid_detail", args=[world.grid_3.pk])).status_code == 404
    )
    # when they export it
    export = world.client("grid_1").get(reverse("people:roster_export"), {"grid": world.grid_1.pk})
    # then an .xlsx with the header and one row comes back, and the export is audited
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = list(values[0])
    row = dict(zip(header, values[1], strict=True))
    assert len(values) == 2
    assert (row["小区"], row["楼栋"], row["单元"], row["房号"], row["户主"], row["党员户"]) == (
        "锦绣江山",
        "3栋",
        "2单元",
        "501",
        "张三",
        "是",
    )
    assert row["户主电话"] == "139****0001"  # masked, never the clear number
    log = AuditLog.objects.get(action="export")
    assert log.actor == world.users["grid_1"] and log.after["rows"] == 1
    # and an out-of-scope export is 404 with no audit record
    assert (
        world.client("grid_1").get(reverse("people:roster_export"), {"grid": world.grid_3.pk}).status_code
        == 404
    )
    assert AuditLog.objects.filter(action="export").count() == 1


def test_roster_query_count_is_constant(world):
    c = world.client("staff_a")
    url = reverse("people:grid_detail", args=[world.grid_2.pk])
    c.get(url)  # the process's memos warm (scope, places): the counts compare page sizes, not a cold start
    small = _count_queries(c, url, 1)
    _add_residents(world.dwellings["a2"], 3, 200)
    from decimal import Decimal

    from tongxin.regions.models import Dwelling

    entrance = world.dwellings["a2"].entrance
    for n in range(30):
        d = Dwelling(number=f"{600 + n}", floor=6, floor_area=Decimal("70"))
        d.place_under(entrance)
        d.save()
        make_resident(d, f"住户{n}", 300 + n)
    # 10 for the page, 1 for the bell (unread count), 2 for the audit row's hash chain (lock, previous hash)
    assert _count_queries(c, url, 31) == small <= 13


def test_staff_register_edit_move_and_move_out_through_the_forms(world):
    c = world.client("staff_a")
    new_id = pii.generate_id_number("429004", dt.date(1990, 3, 3), 77, female=False)
    # when community staff register a resident at an address with a bad phone, then the form names the phone
    form = {
        "name": "钱七",
        "id_kind": "id_card",
        "id_number": new_id,
        "phone": "123",
        "residence_status": "registered",
        "address": "锦绣江山5栋2单元501",
        "relation": "child",
        "tags": ["elderly_alone"],
    }
    response = c.post(reverse("people:resident_create"), form)
    assert response.status_code == 200 and response.context["form"].errors.keys() == {"phone"}
    # and an unknown address is named too
    response = c.post(reverse("people:resident_create"), {**form, "phone": "", "address": "不存在小区1栋"})
    assert "address" in response.context["form"].errors
    # when the phone is fixed, then the resident is created in 李四's household and shown masked
    response = c.post(reverse("people:resident_create"), {**form, "phone": "13611112222"})
    qian = Resident.objects.get(name="钱七")
    assert response.status_code == 302 and qian.household_id == world.residents["a2"].household_id
    assert list(qian.tags.values_list("code", flat=True)) == ["elderly_alone"]
    page = c.get(reverse("people:resident_detail", args=[qian.pk])).content.decode()
    assert "136****2222" in page and "13611112222" not in page and new_id not in page
    # when they edit the name and leave id number and phone blank, then those are kept
    response = c.post(
        reverse("people:resident_edit", args=[qian.pk]),
        {"name": "钱七七", "id_kind": "id_card", "id_number": "", "phone": "", "residence_status": "migrant"},
    )
    assert response.status_code == 302
    qian.refresh_from_db()
    assert (qian.name, qian.id_number_masked, qian.phone_masked, qian.residence_status) == (
        "钱七七",
        pii.mask(new_id),
        "136****2222",
        "migrant",
    )
    assert not qian.tags.exists()
    # when they move the resident to 张三's dwelling as a new household
    response = c.post(
        reverse("people:resident_move", args=[qian.pk]),
        {"address": "锦绣江山3栋2单元501", "relation": "head", "start_household": "on"},
    )
    assert response.status_code == 302
    qian.refresh_from_db()
    assert qian.dwelling_id == world.dwellings["a1"].pk and qian.relation == "head"
    # and out of scope: a move to the other community fails on the address
    response = c.post(reverse("people:resident_move", args=[qian.pk]), {"address": "富丰新城12栋2单元501"})
    assert response.status_code == 400 and "address" in response.context["move_form"].errors
    # when they move the resident out, then the history is kept and shown on the household page
    c.post(reverse("people:resident_move_out", args=[qian.pk]))
    qian.refresh_from_db()
    assert qian.status == "moved_out" and qian.memberships.count() == 2
    household_page = c.get(reverse("people:household_detail", args=[world.dwellings["a1"].pk]))
    assert [h.head for h in household_page.context["current"]] == [world.residents["a1"]]
    assert "钱七七" in household_page.content.decode() and len(household_page.context["past"]) == 1
    # and a grid worker of another grid cannot open the forms
    assert world.client("grid_3").get(reverse("people:resident_edit", args=[qian.pk])).status_code == 404
    # and property staff may read but not edit or register
    assert world.client("property").get(reverse("people:resident_edit", args=[qian.pk])).status_code == 404
    assert world.client("property").get(reverse("people:resident_create")).status_code == 404


def test_change_head_through_the_household_page(world):
    c = world.client("staff_a")
    zhang = world.residents["a1"]
    son = make_resident(world.dwellings["a2"], "张子", 50)
    from tongxin.people import services

    services.move_in(world.users["staff_a"], son, world.dwellings["a1"], relation="child")
    url = reverse("people:household_change_head", args=[zhang.household_id])
    # when staff make the son head, then the household says so
    response = c.post(url, {"new_head": son.pk, "old_head_relation": "parent"})
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.household.head_id == son.pk and zhang.relation == "parent"
    # and another community's staff get 404
    assert world.client("staff_b").post(url, {"new_head": zhang.pk}).status_code == 404


def test_pages_are_chinese_by_default_and_english_on_request(world):
    # given community staff
    c = world.client("staff_a")
    url = reverse("people:resident_detail", args=[world.residents["a1"].pk])
    # when they open a page without choosing a language, then it is in Chinese
    assert "查看证件号码" in c.get(url).content.decode()
    # when they switch to English (the switch in base.html posts to set_language), then the page is in English
    c.post(reverse("set_language"), {"language": "en", "next": url})
    html = c.get(url).content.decode()
    assert "Reveal ID number" in html and "Household members" in html
    assert "Search residents" in c.get(reverse("people:resident_list")).content.decode()


def test_grid_worker_registers_a_resident_by_address_in_their_grid_only(world):
    # given a grid worker of grid 1 (buildings of 锦绣江山, not the whole estate)
    c = world.client("grid_1")
    form = {
        "name": "孙八",
        "id_kind": "id_card",
        "id_number": pii.generate_id_number("429004", dt.date(1970, 5, 5), 88, female=False),
        "phone": "",
        "residence_status": "migrant",
        "relation": "head",
        "start_household": "on",
    }
    # when they register someone at an address in their grid, then it works
    response = c.post(reverse("people:resident_create"), {**form, "address": "锦绣江山3栋2单元501"})
    assert response.status_code == 302
    assert Resident.objects.get(name="孙八").dwelling_id == world.dwellings["a1"].pk
    # when the address is in the other grid of the same estate, then the address is refused
    response = c.post(
        reverse("people:resident_create"), {**form, "name": "孙九", "address": "锦绣江山5栋2单元501"}
    )
    assert response.status_code == 200 and "address" in response.context["form"].errors
    assert not Resident.objects.filter(name="孙九").exists()


def test_list_count_stops_at_the_cap(world, monkeypatch):
    # given a count cap of 2 (10,000 in production) and 3 residents visible to the subdistrict admin
    monkeypatch.setattr("tongxin.core.pagination.COUNT_CAP", 2)
    response = world.client("admin").get(reverse("people:resident_list"))
    # then the page says there are more than 2 and asks to narrow the search, and the rows still show
    assert response.context["page"].paginator.capped
    assert "超过 2 条" in response.content.decode()
    # and a narrower search is counted exactly
    response = world.client("admin").get(reverse("people:resident_list"), {"q": "张三"})
    assert not response.context["page"].paginator.capped and "共 1 人" in response.content.decode()
