"""API authentication: bearer tokens, the browser session, token issue and revocation, the docs."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from tongxin.core.api import validation_errors
from tongxin.core.models import ApiToken, AuditLog

PROTECTED = [
    "/api/v1/me",
    "/api/v1/tokens",
    "/api/v1/regions/",
    "/api/v1/regions/grids/",
    "/api/v1/regions/dwellings/",
    "/api/v1/regions/resolve?address=锦绣江山",
    "/api/v1/people/residents/",
    "/api/v1/party/members/",
    "/api/v1/party/organisations/",
    "/api/v1/party/co-building-units/",
]


def bearer(key: str) -> Client:
    return Client(headers={"authorization": f"Bearer {key}"})


def test_anonymous_callers_get_401_everywhere(world):
    # given no session and no token
    anonymous = Client()
    for url in PROTECTED:
        # when they call a protected endpoint
        response = anonymous.get(url)
        # then it answers 401 in JSON
        assert response.status_code == 401, url
        assert response.json()["code"] == "unauthenticated"
    assert anonymous.get(f"/api/v1/people/residents/{world.residents['a1'].pk}").status_code == 401


def test_a_bearer_token_authenticates_its_user(world):
    # given a token issued to community staff A
    token, key = ApiToken.issue(world.users["staff_a"], "grid app")
    assert token.last_used_at is None
    # when the client calls /me with it
    response = bearer(key).get("/api/v1/me")
    # then it is that user, with their roles, and the token's use is recorded
    assert response.status_code == 200
    assert response.json() == {"username": "staff_a", "display_name": "staff_a", "roles": ["community_staff"]}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_unknown_revoked_and_inactive_tokens_get_401(world):
    # given a valid token, an unknown key and a token of a user who has been deactivated
    _token, key = ApiToken.issue(world.users["grid_1"], "phone")
    _other, inactive_key = ApiToken.issue(world.users["grid_3"], "phone")
    world.users["grid_3"].is_active = False
    world.users["grid_3"].save(update_fields=["is_active"])
    assert bearer(key).get("/api/v1/me").status_code == 200
    # then the unknown key and the inactive user's key are refused
    assert bearer("not-a-real-key").get("/api/v1/me").status_code == 401
    assert bearer(inactive_key).get("/api/v1/me").status_code == 401
    # when the token is revoked through the API, by the token itself
    token_id = bearer(key).get("/api/v1/tokens").json()["items"][0]["id"]
    assert bearer(key).delete(f"/api/v1/tokens/{token_id}").status_code == 204
    # then it no longer works, is kept (not deleted) and the revocation is audited
    assert bearer(key).get("/api/v1/me").status_code == 401
    assert ApiToken.objects.get(pk=token_id).revoked
    assert AuditLog.objects.filter(
        action="update", object_type="core.apitoken", object_id=str(token_id)
    ).exists()


def test_tokens_are_issued_from_a_session_only_and_shown_once(world):
    # given staff A signed in with the browser
    session = world.client("staff_a")
    # when they issue a token
    response = session.post("/api/v1/tokens", {"name": "巡查App"}, content_type="application/json")
    # then the key is returned once, works, and only its hash is stored
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert body["prefix"] == key[:8] and body["name"] == "巡查App"
    assert bearer(key).get("/api/v1/me").json()["username"] == "staff_a"
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.key_hash == ApiToken.hash_key(key) and key not in str(stored.__dict__)
    listed = session.get("/api/v1/tokens").json()["items"]
    assert [t["id"] for t in listed] == [body["id"]] and "key" not in listed[0]
    assert AuditLog.objects.filter(
        action="create", object_type="core.apitoken", actor=world.users["staff_a"]
    ).exists()
    # and a token cannot mint another token
    assert (
        bearer(key).post("/api/v1/tokens", {"name": "x"}, content_type="application/json").status_code == 401
    )
    # and an empty name is refused naming the field
    bad = session.post("/api/v1/tokens", {"name": ""}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "name"


def test_a_user_cannot_see_or_revoke_someone_elses_token(world):
    # given a token of staff B
    token, key = ApiToken.issue(world.users["staff_b"], "b")
    # when staff A lists tokens or tries to revoke B's
    session = world.client("staff_a")
    assert session.get("/api/v1/tokens").json()["items"] == []
    # then it is not found and stays valid
    assert session.delete(f"/api/v1/tokens/{token.pk}").status_code == 404
    assert bearer(key).get("/api/v1/me").status_code == 200


def test_issue_token_command_issues_lists_and_revokes(world):
    # when an operator issues a token for grid worker 1
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", "grid_1", "--name", "网格通", stdout=out, stderr=err)
    key = out.getvalue().strip()
    # then the printed key authenticates as that user
    assert bearer(key).get("/api/v1/me").json()["username"] == "grid_1"
    # and --list shows it without the key, --revoke by prefix disables it
    listing = io.StringIO()
    call_command("issue_token", "grid_1", "--list", stdout=listing)
    assert key[:8] in listing.getvalue() and key not in listing.getvalue() and "网格通" in listing.getvalue()
    call_command("issue_token", "grid_1", f"--revoke={key[:8]}", stdout=io.StringIO())
    assert bearer(key).get("/api/v1/me").status_code == 401
    # and unknown users or prefixes are errors, not silent
    with pytest.raises(CommandError):
        call_command("issue_token", "nobody", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("issue_token", "grid_1", f"--revoke={key[:8]}", stdout=io.StringIO())


def test_session_authentication_works_for_the_browser(world):
    # given grid worker 1 signed in with the browser (no token)
    response = world.client("grid_1").get("/api/v1/me")
    # then the API knows them
    assert response.status_code == 200 and response.json()["roles"] == ["grid_worker"]


def test_openapi_docs_render_without_a_cdn(world):
    # when anyone opens the docs
    docs = Client().get("/api/v1/docs")
    # then the Swagger UI page renders from our own static files
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    # and the schema lists the registry endpoints
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/regions/",
        "/api/v1/regions/grids/{grid_id}",
        "/api/v1/regions/resolve",
        "/api/v1/people/residents/",
        "/api/v1/people/residents/{resident_id}/reveal",
        "/api/v1/people/households/{household_id}",
        "/api/v1/party/members/",
        "/api/v1/party/organisations/",
        "/api/v1/party/co-building-units/",
    ):
        assert path in paths, path


def test_validation_errors_name_their_field():
    # given service errors with and without a field
    by_field = ValidationError({"id_number": ["校验位错误"], "phone": "格式不正确"})
    general = ValidationError("出错了", code="bad")
    # then each entry says where, in the one error shape of the API
    assert validation_errors(by_field) == [
        {"code": "invalid", "message": "校验位错误", "field": "id_number"},
        {"code": "invalid", "message": "格式不正确", "field": "phone"},
    ]
    assert validation_errors(general) == [{"code": "bad", "message": "出错了", "field": ""}]
