"""Malformed input never gets a 500: each finding of the fuzzing run, answered with the one error body."""

from __future__ import annotations

import json

import pytest

ERROR_KEYS = {"code", "message", "field"}


def _error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= ERROR_KEYS, body
    return body


def _post(client, url: str, body: dict):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases/?q=a%00b",
        "/api/v1/cases/?state=%00",
        "/api/v1/people/residents/?tag=x%00",
        "/api/v1/people/residents/?q=%01",
    ],
)
def test_a_control_character_in_a_query_is_refused(world, url):
    body = _error(world.client("admin").get(url), 422)
    assert body["code"] == "invalid_characters" and body["field"] in url


def test_a_nul_in_any_body_string_is_refused(world):
    client = world.client("resident")
    body = _error(
        _post(client, "/api/v1/cases/", {"category": "repairs-leak", "description": "漏水\x00"}), 422
    )
    assert body["field"] == "description"
    body = _error(
        _post(
            client,
            "/api/v1/cases/",
            {"category": "repairs-leak", "description": "漏水", "attributes": {"a": ["\x00"]}},
        ),
        422,
    )
    assert body["field"] == "attributes.a.0"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases/?page=9223372036854775808",
        "/api/v1/cases/queue?page=9223372036854775808",
        "/api/v1/regions/dwellings/?page=9223372036854775808",
        "/api/v1/regions/dwellings/?grid=9223372036854775808",
    ],
)
def test_huge_integers_are_refused(world, url):
    assert _error(world.client("admin").get(url), 422)["code"] in {"invalid", "out_of_range"}


def test_non_ascii_receipt_code_is_not_found_not_a_500(world, client):
    _error(client.get("/api/v1/cases/receipt/回执码"), 404)
    _error(client.get("/api/v1/cases/receipt/ABC", {"number": "GH1", "x": "1"}), 404)


def test_suggest_with_latitude_and_no_longitude_is_refused(world):
    body = _error(world.client("staff_a").get("/api/v1/cases/suggest", {"text": "漏水", "lat": "30.3"}), 422)
    assert body["field"] == "long"
    _error(world.client("staff_a").get("/api/v1/cases/suggest", {"lat": "1e308", "long": "1"}), 422)


def test_multipart_without_boundary_is_refused(world):
    response = world.client("resident").post(
        "/api/v1/cases/1/photos", data=b"--x\r\n", content_type="multipart/form-data"
    )
    assert _error(response, 400)["code"] == "bad_multipart"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"title": "长" * 101}, "title"),
        ({"contact_name": "名" * 51}, "contact_name"),
        ({"latitude": 1e308, "longitude": 113.4}, "latitude"),
        ({"longitude": -181.0, "latitude": 30.0}, "longitude"),
        ({"attributes": {"blob": "x" * 2_000_000}}, "attributes"),
    ],
)
def test_too_long_or_out_of_range_is_refused_not_cut(world, extra, field):
    # given a resident's case with one value beyond its limit, when submitted, then refused naming the field
    from tongxin.cases.models import Case

    body = {"category": "repairs-leak", "description": "楼道灯坏了", **extra}
    error = _error(_post(world.client("resident"), "/api/v1/cases/", body), 422)
    assert error["field"] == field
    assert not Case.objects.exists()


def test_an_unknown_api_path_answers_the_error_body(world):
    assert _error(world.client("admin").get("/api/v1/tokens/-5"), 404)["code"] == "not_found"


def test_a_path_id_that_is_no_number_is_not_found(world):
    # given an operation whose policy gate looks the object up before the parameters are parsed
    body = _error(world.client("admin").get("/api/v1/cases/%F4%8F%92%BD%C3%8DN4"), 404)
    assert body["code"] == "not_found"
