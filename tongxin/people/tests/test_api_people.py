"""The people API: residents and households per role, search, masking, reveal, writes through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.conftest import make_resident
from tongxin.core import pii
from tongxin.core.models import ApiToken, AuditLog
from tongxin.party.models import PartyMember
from tongxin.people.models import Resident, Tag

ROLES = ("admin", "staff_a", "staff_b", "grid_1", "grid_3", "property", "department", "volunteer", "resident")
JSON = "application/json"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The world's users are never signed in by password here; a cheap hasher keeps the fixture fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api(user) -> Client:
    _token, key = ApiToken.issue(user, "test")
    return Client(headers={"authorization": f"Bearer {key}"})


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json()["items"])


def clear_values() -> list[str]:
    """Every id number and phone in the registry, in clear."""
    values = []
    for r in Resident.objects.all():
        values += [pii.decrypt(r.id_number_enc), pii.decrypt(r.phone_enc)]
    return [v for v in values if v]


def tag(resident: Resident, code: str) -> None:
    resident.tags.add(Tag.objects.get_or_create(code=code, defaults={"name": code})[0])


REGISTRY_ROLES = ("admin", "staff_a", "staff_b", "grid_1", "grid_3")


def test_each_role_lists_the_residents_it_may_see(world):
    # given 张三 (grid 1), 李四 (grid 2) in community A and 王五 (grid 3) in community B
    seen = {role: names(api(world.users[role]).get("/api/v1/people/residents/")) for role in REGISTRY_ROLES}
    # then the subdistrict admin sees all, community staff their community, grid workers their grid
    assert seen["admin"] == sorted(["张三", "李四", "王五"])
    assert seen["staff_a"] == sorted(["张三", "李四"])
    assert seen["staff_b"] == ["王五"]
    assert seen["grid_1"] == ["张三"]
    assert seen["grid_3"] == ["王五"]
    # property staff, departments, volunteers and residents have no registry at all: 404, not an empty list
    for role in ("property", "department", "volunteer", "resident"):
        response = api(world.users[role]).get("/api/v1/people/residents/")
        assert response.status_code == 404 and response.json()["code"] == "not_found", role


def test_a_resident_or_household_out_of_scope_is_404(world):
    r = world.residents
    grid_1 = api(world.users["grid_1"])
    # when grid worker 1 fetches their own resident and household
    assert grid_1.get(f"/api/v1/people/residents/{r['a1'].pk}").status_code == 200
    assert grid_1.get(f"/api/v1/people/households/{r['a1'].household_id}").status_code == 200
    # then a resident of another grid, in the same community or not, is 404 in JSON
    for key in ("a2", "b1"):
        response = grid_1.get(f"/api/v1/people/residents/{r[key].pk}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert grid_1.get(f"/api/v1/people/households/{r[key].household_id}").status_code == 404
    # and community staff see their whole community, not the other one
    staff_a = api(world.users["staff_a"])
    assert staff_a.get(f"/api/v1/people/residents/{r['a2'].pk}").status_code == 200
    assert staff_a.get(f"/api/v1/people/residents/{r['b1'].pk}").status_code == 404
    # and roles without a registry scope get 404 for everyone
    for role in ("department", "volunteer", "resident"):
        assert api(world.users[role]).get(f"/api/v1/people/residents/{r['a1'].pk}").status_code == 404
    assert staff_a.get("/api/v1/people/residents/999999").status_code == 404


def test_resident_detail_and_household(world):
    # given 李四 joins 张三's household as spouse, and 张三 is a dual-registered party member
    a1 = world.residents["a1"]
    PartyMember.objects.create(resident=a1, member_type="dual_registered", employer_name="市税务局")
    client = api(world.users["staff_a"])
    client.post(
        "/api/v1/people/residents/",
        {"name": "张妻", "dwelling": world.dwellings["a1"].pk, "relation": "spouse", "phone": "13700000009"},
        content_type=JSON,
    )
    # when staff A fetches 张三 and the household
    body = client.get(f"/api/v1/people/residents/{a1.pk}").json()
    household = client.get(f"/api/v1/people/households/{a1.household_id}").json()
    # then the detail carries address, masked values, stays and party information
    assert body["dwelling"]["address"] == "锦绣江山3栋2单元501"
    assert body["id_number_masked"] == a1.id_number_masked and body["phone_masked"] == "139****0001"
    assert body["member_type"] == "dual_registered"
    assert body["party_member"]["employer_name"] == "市税务局"
    assert [s["relation"] for s in body["stays"]] == ["head"]
    # and the household lists head and members with their relation, and the dwelling's floor area
    assert household["head"] == {"id": a1.pk, "name": "张三"}
    assert household["dwelling"]["floor_area"] == 89.5
    assert sorted((m["resident"]["name"], m["relation"]) for m in household["members"]) == [
        ("张三", "head"),
        ("张妻", "spouse"),
    ]


def test_search_and_filters_work_like_the_staff_pages(world):
    client = api(world.users["admin"])
    a1 = world.residents["a1"]
    tag(a1, "elderly_alone")
    world.residents["b1"].residence_status = "migrant"
    world.residents["b1"].save(update_fields=["residence_status"])

    def search(**params) -> list[str]:
        return names(client.get("/api/v1/people/residents/", params))

    # by name, last 4 of the phone or id number, whole id number, and address
    assert search(q="张") == ["张三"]
    assert search(q="0002") == ["李四"]
    assert search(q=pii.decrypt(a1.id_number_enc)[-4:]) == ["张三"]
    assert search(q=pii.decrypt(a1.id_number_enc)) == ["张三"]
    assert search(q="锦绣江山5栋2单元501") == ["李四"]
    assert search(q="锦绣江山") == sorted(["张三", "李四"])
    # by tag, residence status, grid, region
    assert search(tag="elderly_alone") == ["张三"]
    assert search(tag=["elderly_alone", "disabled"]) == []
    assert search(residence_status="migrant") == ["王五"]
    assert search(grid=world.grid_2.pk) == ["李四"]
    assert search(region=world.community_b.pk) == ["王五"]
    assert search(region=world.estate_a.pk, q="李") == ["李四"]
    # and bad filters are 422 naming the parameter
    for params, name in (
        ({"residence_status": "alien"}, "residence_status"),
        ({"page_size": 201}, "page_size"),
    ):
        response = client.get("/api/v1/people/residents/", params)
        assert response.status_code == 422 and response.json()["field"] == name


def test_member_type_filter(world):
    PartyMember.objects.create(resident=world.residents["a2"], member_type="dual_registered")
    PartyMember.objects.create(resident=world.residents["b1"], member_type="mobile")
    client = api(world.users["admin"])
    assert names(client.get("/api/v1/people/residents/?member_type=dual_registered")) == ["李四"]
    assert names(client.get("/api/v1/people/residents/?member_type=mobile")) == ["王五"]


def test_property_staff_cannot_browse_or_filter_residents_by_health_or_welfare(world):
    # given 张三 in the estate the property company serves is a tuberculosis patient, on 低保 and watched
    a1 = world.residents["a1"]
    for code in ("tuberculosis", "low_income", "watched"):
        a1.tags.add(Tag.objects.get(code=code))
    url = f"/api/v1/people/residents/{a1.pk}"
    # then the grid worker of his grid sees all three tags
    assert sorted(t["code"] for t in api(world.users["grid_1"]).get(url).json()["tags"]) == [
        "low_income",
        "tuberculosis",
        "watched",
    ]
    assert api(world.users["grid_1"]).get("/api/v1/people/residents/?tag=tuberculosis").json()["count"] == 1
    # when property staff ask for him, the list, or a filter by 慢病:肺结核 / 低保户 / 流动人口
    prop = api(world.users["property"])
    for path in (
        url,
        "/api/v1/people/residents/",
        "/api/v1/people/residents/?tag=tuberculosis",
        "/api/v1/people/residents/?tag=low_income",
        "/api/v1/people/residents/?residence_status=migrant",
    ):
        response = prop.get(path)
        # then the registry does not exist for them
        assert response.status_code == 404, path
        assert "张三" not in response.content.decode()


def test_no_response_contains_a_clear_id_number_or_phone(world):
    # given the clear values of every resident
    secrets = clear_values()
    assert len(secrets) == 6
    r = world.residents
    urls = ["/api/v1/people/residents/?page_size=200", "/api/v1/regions/resolve?address=锦绣江山3栋2单元501"]
    for resident in r.values():
        urls += [
            f"/api/v1/people/residents/{resident.pk}",
            f"/api/v1/people/households/{resident.household_id}",
        ]
    urls += [f"/api/v1/people/residents/?q={s}" for s in secrets]  # searching by a whole value echoes nothing
    for role in ROLES:
        client = api(world.users[role])
        for url in urls:
            # when any role reads any resident endpoint
            body = client.get(url).content.decode()
            # then no clear value appears
            for secret in secrets:
                assert secret not in body, (role, url)
    # and the writes answer with masked values too
    staff = api(world.users["staff_a"])
    new_id = pii.generate_id_number("429004", dt.date(1990, 5, 6), 77, True)
    created = staff.post(
        "/api/v1/people/residents/",
        {
            "name": "赵六",
            "dwelling": world.dwellings["a1"].pk,
            "id_number": new_id,
            "phone": "13812345678",
            "relation": "spouse",
        },
        content_type=JSON,
    )
    patched = staff.patch(
        f"/api/v1/people/residents/{r['a2'].pk}", {"phone": "13687654321"}, content_type=JSON
    )
    for response, clear in ((created, new_id), (created, "13812345678"), (patched, "13687654321")):
        assert response.status_code in (200, 201) and clear not in response.content.decode()


def test_reveal_returns_one_clear_value_and_is_audited(world):
    a1 = world.residents["a1"]
    url = f"/api/v1/people/residents/{a1.pk}/reveal"
    # when community staff A reveals 张三's id number
    response = api(world.users["staff_a"]).post(url, {"what": "id_number"}, content_type=JSON)
    # then they get exactly the clear value, not cached, and an audit record names them and the field
    assert response.status_code == 200
    assert response.json() == {"id": a1.pk, "what": "id_number", "value": pii.decrypt(a1.id_number_enc)}
    assert response["Cache-Control"] == "no-store"
    log = AuditLog.objects.get(action="reveal", object_id=str(a1.pk))
    assert log.actor == world.users["staff_a"] and log.field == "id_number"
    # and a grid worker may reveal the phone of a resident of their grid (also audited)
    phone = api(world.users["grid_1"]).post(url, {"what": "phone"}, content_type=JSON)
    assert phone.status_code == 200 and phone.json()["value"] == "13900000001"
    assert AuditLog.objects.filter(action="reveal", actor=world.users["grid_1"], field="phone").count() == 1


def test_reveal_is_404_for_roles_that_may_not(world):
    a1, a2 = world.residents["a1"], world.residents["a2"]
    refused = [
        ("grid_1", a1, "id_number"),  # grid workers may reveal phones only
        ("grid_1", a2, "phone"),  # another grid
        ("staff_b", a1, "phone"),  # another community
        ("property", a1, "phone"),  # property staff see, but may not reveal
        ("department", a1, "phone"),
        ("volunteer", a1, "id_number"),
        ("resident", a1, "phone"),  # even their own record, through the staff API
    ]
    for role, resident, what in refused:
        response = api(world.users[role]).post(
            f"/api/v1/people/residents/{resident.pk}/reveal", {"what": what}, content_type=JSON
        )
        assert response.status_code == 404, (role, what)
        assert pii.decrypt(resident.phone_enc) not in response.content.decode()
    # then nothing was revealed, so nothing was audited
    assert not AuditLog.objects.filter(action="reveal").exists()
    # and asking for another field is a 422 naming it
    bad = api(world.users["admin"]).post(
        f"/api/v1/people/residents/{a1.pk}/reveal", {"what": "name"}, content_type=JSON
    )
    assert bad.status_code == 422 and bad.json()["field"] == "what"


def test_create_resident_through_the_service(world):
    staff = api(world.users["staff_a"])
    new_id = pii.generate_id_number("429004", dt.date(1985, 3, 4), 41, False)
    # when community staff register a resident in a dwelling of their community
    response = staff.post(
        "/api/v1/people/residents/",
        {
            "name": "赵六",
            "dwelling": world.dwellings["a2"].pk,
            "id_number": new_id,
            "phone": "13811112222",
            "residence_status": "migrant",
            "tags": ["disabled"],
            "start_household": True,
        },
        content_type=JSON,
    )
    # then the resident exists with derived birth date, masked values, tags, a household and an audit record
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["birth_date"] == "1985-03-04" and body["gender"] == "M"
    assert body["id_number_masked"] == pii.mask(new_id) and body["phone_masked"] == "138****2222"
    assert [t["code"] for t in body["tags"]] == ["disabled"] and body["relation"] == "head"
    assert body["dwelling"]["id"] == world.dwellings["a2"].pk and body["household_id"]
    assert AuditLog.objects.filter(
        action="create", object_type="people.resident", object_id=str(body["id"])
    ).exists()
    # and registering the same id number again is refused naming the field
    again = staff.post(
        "/api/v1/people/residents/",
        {"name": "赵六", "dwelling": world.dwellings["a1"].pk, "id_number": new_id, "relation": "other"},
        content_type=JSON,
    )
    assert again.status_code == 422 and again.json()["field"] == "id_number"


def test_create_validation_errors_name_the_field(world):
    staff = api(world.users["staff_a"])
    before = Resident.objects.count()

    def errors(payload: dict) -> set[str]:
        response = staff.post("/api/v1/people/residents/", payload, content_type=JSON)
        assert response.status_code == 422, response.content
        return {entry["field"] for entry in response.json()["errors"]}

    d = world.dwellings["a1"].pk
    # a bad checksum and a bad phone, from the service
    good = pii.generate_id_number("429004", dt.date(1980, 1, 1), 5, False)
    bad_checksum = good[:17] + ("0" if good[-1] != "0" else "1")
    assert errors({"name": "甲", "dwelling": d, "id_number": bad_checksum, "phone": "123"}) == {
        "id_number",
        "phone",
    }
    assert errors({"name": "甲", "dwelling": d, "id_number": good[:16]}) == {"id_number"}
    # a missing name or dwelling, and a bad choice, from the schema
    assert "name" in errors({"dwelling": d})
    assert "dwelling" in errors({"name": "甲"})
    assert "residence_status" in errors({"name": "甲", "dwelling": d, "residence_status": "alien"})
    # a blank name from the service
    assert errors({"name": "  ", "dwelling": d}) == {"name"}
    # then nothing was written
    assert Resident.objects.count() == before


def test_only_writing_roles_in_scope_may_create(world):
    payload = {"name": "钱七", "dwelling": world.dwellings["a2"].pk, "relation": "other"}
    # a grid worker of another grid, staff of another community and an unknown dwelling are refused alike
    for role in ("grid_1", "staff_b"):
        response = api(world.users[role]).post("/api/v1/people/residents/", payload, content_type=JSON)
        assert response.status_code == 422, role
        assert response.json()["field"] == "dwelling"
    # property staff and departments do not register residents at all
    for role in ("property", "department"):
        response = api(world.users[role]).post("/api/v1/people/residents/", payload, content_type=JSON)
        assert response.status_code == 404, role
    unknown = api(world.users["admin"]).post(
        "/api/v1/people/residents/", {**payload, "dwelling": 999999}, content_type=JSON
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "dwelling"
    assert not Resident.objects.filter(name="钱七").exists()
    # while the grid worker of that grid may
    grid_2_worker = world.users["grid_1"]
    grid_2_worker.roles.create(role="grid_worker", grid=world.grid_2)
    created = api(grid_2_worker).post("/api/v1/people/residents/", payload, content_type=JSON)
    assert created.status_code == 201, created.content


def test_patch_resident(world):
    a1 = world.residents["a1"]
    url = f"/api/v1/people/residents/{a1.pk}"
    grid_1 = api(world.users["grid_1"])
    # when the grid worker changes the name and tags of a resident of their grid
    response = grid_1.patch(url, {"name": "张三丰", "tags": ["veteran"]}, content_type=JSON)
    # then only those change, and both changes are audited with masked values
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "张三丰" and [t["code"] for t in body["tags"]] == ["veteran"]
    assert body["id_number_masked"] == a1.id_number_masked and body["phone_masked"] == "139****0001"
    logs = AuditLog.objects.filter(action="update", object_id=str(a1.pk), actor=world.users["grid_1"])
    assert sorted(log.field for log in logs) == ["", "tags"]
    # and a bad value is a 422 naming the field, leaving everything as it was (tags included)
    bad = grid_1.patch(url, {"name": "张四", "phone": "12345", "tags": []}, content_type=JSON)
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["phone"]
    unknown_tag = grid_1.patch(url, {"name": "张四", "tags": ["no_such_tag"]}, content_type=JSON)
    assert unknown_tag.status_code == 422 and unknown_tag.json()["field"] == "tags"
    a1.refresh_from_db()
    assert a1.name == "张三丰" and list(a1.tags.values_list("code", flat=True)) == ["veteran"]


def test_patch_out_of_scope_or_without_write_role(world):
    r = world.residents
    # a resident of another grid is 404 for the grid worker
    assert (
        api(world.users["grid_1"])
        .patch(f"/api/v1/people/residents/{r['a2'].pk}", {"name": "x"}, content_type=JSON)
        .status_code
        == 404
    )
    # property staff serve 张三's estate but have no registry: 404
    response = api(world.users["property"]).patch(
        f"/api/v1/people/residents/{r['a1'].pk}", {"name": "x"}, content_type=JSON
    )
    assert response.status_code == 404
    r["a1"].refresh_from_db()
    assert r["a1"].name == "张三"


def test_resident_list_runs_constant_queries_whatever_the_page_size(world):
    # given 30 more residents with tags, some of them party members
    for i in range(30):
        resident = make_resident(world.dwellings["a1" if i % 2 else "a2"], f"居民{i}", 100 + i)
        tag(resident, "elderly_alone")
        if i % 3 == 0:
            PartyMember.objects.create(resident=resident, member_type="resident")
    client = api(world.users["staff_a"])
    client.get("/api/v1/me")  # the token's first use writes last_used_at; keep that out of the counts
    for params in ({}, {"tag": "elderly_alone"}, {"q": "居民"}):
        client.get(
            "/api/v1/people/residents/", params
        )  # the process's memos warm (scope, places): the counts compare page sizes, not a cold start
        counts = []
        for size in (1, 200):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/api/v1/people/residents/", {**params, "page_size": size})
            assert len(response.json()["items"]) == min(size, response.json()["count"])
            counts.append(len(ctx.captured_queries))
        # then a page of 1 and a page of 200 cost the same, small number of queries
        assert counts[0] == counts[1] <= 10, (params, counts)


def test_move_in_and_out_keep_the_history(world):
    a1, a2 = world.residents["a1"], world.residents["a2"]
    staff = api(world.users["staff_a"])
    # when 李四 moves into 张三's dwelling as his spouse
    moved = staff.post(
        f"/api/v1/people/residents/{a2.pk}/move-in",
        {"dwelling": world.dwellings["a1"].pk, "relation": "spouse"},
        content_type=JSON,
    )
    # then she lives there in his household, and her earlier stay is kept, closed
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["dwelling"]["id"] == world.dwellings["a1"].pk and body["household_id"] == a1.household_id
    assert [(s["address"], s["moved_out_on"] is None) for s in body["stays"]] == [
        ("锦绣江山5栋2单元501", False),
        ("锦绣江山3栋2单元501", True),
    ]
    household = staff.get(f"/api/v1/people/households/{a1.household_id}").json()
    assert sorted(m["resident"]["name"] for m in household["members"]) == ["张三", "李四"]
    # when she moves out
    out = staff.post(f"/api/v1/people/residents/{a2.pk}/move-out", {"status": "moved_out"}, content_type=JSON)
    # then she is no longer listed as living there, but is kept with her whole history
    assert out.status_code == 200 and out.json()["status"] == "moved_out"
    assert names(staff.get("/api/v1/people/residents/")) == ["张三"]
    assert names(staff.get("/api/v1/people/residents/?status=moved_out")) == ["李四"]
    assert all(s["moved_out_on"] for s in out.json()["stays"])
    assert AuditLog.objects.filter(object_id=str(a2.pk), field__in=["dwelling", "status"]).count() == 2
    # and moving out twice is a 422 naming the field
    again = staff.post(f"/api/v1/people/residents/{a2.pk}/move-out", {}, content_type=JSON)
    assert again.status_code == 422 and again.json()["field"] == "status"


def test_moves_outside_scope_or_role_are_refused(world):
    a1 = world.residents["a1"]
    into_grid_2 = {"dwelling": world.dwellings["a2"].pk, "relation": "other"}
    # a grid worker cannot move their resident into another grid's dwelling
    response = api(world.users["grid_1"]).post(
        f"/api/v1/people/residents/{a1.pk}/move-in", into_grid_2, content_type=JSON
    )
    assert response.status_code == 422 and response.json()["field"] == "dwelling"
    # property staff may not move anyone; a resident out of scope is 404
    prop = api(world.users["property"]).post(
        f"/api/v1/people/residents/{a1.pk}/move-out", {}, content_type=JSON
    )
    assert prop.status_code == 404
    other = api(world.users["grid_3"]).post(
        f"/api/v1/people/residents/{a1.pk}/move-out", {}, content_type=JSON
    )
    assert other.status_code == 404
    a1.refresh_from_db()
    assert a1.status == "active" and a1.dwelling_id == world.dwellings["a1"].pk


def test_list_count_stops_at_the_cap_like_the_list_page(world, monkeypatch):
    # given a count cap of 2 (10,000 in production) and 3 residents visible to the subdistrict admin
    monkeypatch.setattr("tongxin.core.pagination.COUNT_CAP", 2)
    body = api(world.users["admin"]).get("/api/v1/people/residents/?page_size=1").json()
    # then the count stops at the cap and says so, and the page is still served
    assert (body["count"], body["count_capped"], len(body["items"])) == (2, True, 1)
    # and pages past the cap are still served
    body = api(world.users["admin"]).get("/api/v1/people/residents/?page_size=1&page=3").json()
    assert len(body["items"]) == 1
    # and a narrower search is counted exactly
    body = api(world.users["admin"]).get("/api/v1/people/residents/", {"q": "张三"}).json()
    assert (body["count"], body["count_capped"]) == (1, False)
