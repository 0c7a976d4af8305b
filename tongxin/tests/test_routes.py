"""The route walker: every web page and every API operation, requested as every role, answers what the policy
table says — and no answer shows a clear id number or phone.

Given the shared world (two communities, three grids) plus a party member, when each role requests each route
(pages by GET, or POST when the page takes only POST; API operations by their method with an empty body), then:

* the policy decides ``LOGIN``     → a page redirects to the login, the API answers 401;
* ``NOT_FOUND`` (role lacks the action, or the object is outside the user's scope) → 404;
* ``FORBIDDEN`` (visible, but the rule's condition refuses) → 403;
* ``ALLOW``   → anything but 401/403/404/500 and the login redirect (a form may answer 400/422 to the empty body).

Objects for routes that name one (``model=`` on the decorator) are the first and the last row of that model in the
world; an app may add rows for its models in ``tongxin/<app>/tests/samples.py`` (``def make(world): ...``).
A route without a policy declaration fails :func:`test_every_route_declares_its_action`.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client

from tongxin import routes
from tongxin.conftest import World, make_resident, make_user
from tongxin.core import pii, policy
from tongxin.core.models import ApiToken
from tongxin.core.policy import Decision
from tongxin.party.models import PartyMember
from tongxin.people.models import Resident

# The roles of the issue: anonymous, resident, party member, grid worker of this and of another grid, property
# staff, department liaison, community staff, subdistrict admin.
ROLES = ("anonymous", "resident", "member", "grid_1", "grid_3", "property", "department", "staff_a", "admin")
# Parameters that are not an object's id: a value that exercises the route's declared action.
SAMPLE_PARAMS = {"what": "phone", "kind": "residents", "fmt": "json"}
ALLOWED_FAILURES = {401, 403, 404, 500}
SESSION_ENDING = {"logout", "revoke_token"}  # after these the walker signs the role in again


def _sample_modules() -> None:
    for app in settings.INSTALLED_APPS:
        if app.startswith("tongxin."):
            try:
                importlib.import_module(f"{app}.tests.samples")
            except ModuleNotFoundError as exc:
                if not exc.name or not exc.name.startswith(app):
                    raise


@pytest.fixture
def walk_world(world: World, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path  # the samples' uploads (case photos) stay out of the checkout
    member_user = make_user("member_1")
    member = make_resident(world.dwellings["a1"], "赵党员", 41, phone="13900000041")
    member.user = member_user
    member.save(update_fields=["user"])
    PartyMember.objects.create(resident=member, member_type="resident")
    users = {
        "resident": world.users["resident"],
        "member": member_user,
        "grid_1": world.users["grid_1"],
        "grid_3": world.users["grid_3"],
        "property": world.users["property"],
        "department": world.users["department"],
        "staff_a": world.users["staff_a"],
        "admin": world.users["admin"],
    }
    _sample_modules()
    for app in settings.INSTALLED_APPS:
        if app.startswith("tongxin."):
            module = importlib.import_module(app)
            samples = getattr(module, "tests", None)
            make = getattr(getattr(samples, "samples", None), "make", None)
            if callable(make):
                make(world)
    clear = []
    for r in Resident.objects.all():
        clear += [pii.decrypt(r.id_number_enc), pii.decrypt(r.phone_enc)]
    return {"world": world, "users": users, "clear": [v for v in clear if v]}


def _api_client(user: Any) -> Client:
    _token, key = ApiToken.issue(user, "walker")
    return Client(headers={"authorization": f"Bearer {key}"})


def _clients(users: dict[str, Any]) -> dict[str, tuple[Client, Client, Any]]:
    """role -> (browser client, API client, user)."""
    out: dict[str, tuple[Client, Client, Any]] = {"anonymous": (Client(), Client(), None)}
    for role, user in users.items():
        web = Client()
        web.force_login(user)
        out[role] = (web, _api_client(user), user)
    return out


def _objects(model_label: str) -> list[Any]:
    model = apps.get_model(model_label)
    first = model.objects.order_by("pk").first()
    last = model.objects.order_by("-pk").first()
    return [o for o in dict.fromkeys([first, last]) if o is not None] or [None]


def _url(route: routes.Route, obj: Any) -> str:
    extra = route.access.extra if route.access else {}
    sample = {**SAMPLE_PARAMS, **extra.get("sample", {})}
    path = route.path if route.kind == "api" else "/" + route.path
    if extra.get("query"):  # the object is named in the query string (?grid=7), not in the path
        return f"{path}?{extra['query']}={obj.pk if obj is not None else 999999}"
    for i, name in enumerate(route.params):
        if i == 0 and route.access and route.access.model and not extra.get("query"):
            value = obj.pk if obj is not None else 999999
            if extra.get("object_field"):  # the object is named by a field (a file's path), not its id
                value = _field(obj, extra["object_field"]) if obj is not None else "missing"
        elif name in sample:
            value = sample[name]
        else:
            raise AssertionError(
                f"{route.label}: no sample value for parameter {name!r} (declare sample=...)"
            )
        token = f"{{{name}}}" if route.kind == "api" else None
        if route.kind == "api":
            path = path.replace(f"{{int:{name}}}", str(value)).replace(token or "", str(value))
        else:
            path = (
                path.replace(f"<int:{name}>", str(value))
                .replace(f"<str:{name}>", str(value))
                .replace(f"<slug:{name}>", str(value))
                .replace(f"<path:{name}>", str(value))
                .replace(f"<{name}>", str(value))
            )
    return path


def _field(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _expected(user: Any, route: routes.Route, obj: Any) -> Decision:
    assert route.access is not None
    if not route.access.action:
        return Decision.ALLOW
    if obj is not None:
        fresh = type(obj).objects.filter(pk=obj.pk).first()  # an earlier POST may have changed or removed it
        if fresh is None:
            return Decision.LOGIN if user is None else Decision.NOT_FOUND
        obj = fresh
    elif route.access.model:  # no row of that model: nothing to find
        return Decision.LOGIN if user is None else Decision.NOT_FOUND
    if user is not None:
        policy.forget(user)
    return policy.decide(user, route.access.action, obj)


def _request(route: routes.Route, client: Client, url: str) -> Any:
    if route.kind == "api":
        method = route.methods[0].lower()
        if method in ("post", "put", "patch"):
            return getattr(client, method)(url, {}, content_type="application/json")
        return getattr(client, method)(url)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response


def _check(route: routes.Route, role: str, decision: Decision, response: Any) -> str | None:
    status = response.status_code
    login = status == 302 and "/login/" in response.get("Location", "")
    if route.kind == "api" and route.public_api and decision is Decision.LOGIN:
        decision = Decision.NOT_FOUND  # open without a token: the policy answers, not the authentication
    if route.access is not None and not route.access.action:  # public: it may still send you to the login
        ok = status < 500 and status not in (403, 404)
    elif decision is Decision.LOGIN:
        ok = status == 401 if route.kind == "api" else login
    elif decision is Decision.NOT_FOUND:
        ok = status == 404
    elif decision is Decision.FORBIDDEN:
        ok = status == 403
    else:
        ok = status not in ALLOWED_FAILURES and not login
    return None if ok else f"{route.label} as {role}: policy says {decision.value}, got {status}"


def test_every_route_declares_its_action() -> None:
    # given every web page and API operation
    missing = {r.label for r in routes.all_routes() if r.access is None}
    # then each declares the policy action it needs (or is explicitly public)
    assert sorted(missing) == [], "routes without a policy declaration"


def test_every_declared_action_is_in_the_policy_table() -> None:
    unknown = [
        f"{r.label}: {r.access.action}"
        for r in routes.all_routes()
        if r.access and r.access.action and r.access.action not in {x.action for x in policy.rules()}
    ]
    assert unknown == []


@pytest.mark.parametrize("kind", ["page", "api"])
def test_every_route_answers_as_the_policy_says_for_every_role(walk_world: dict[str, Any], kind: str) -> None:
    clients = _clients(walk_world["users"])
    failures: list[str] = []
    leaks: list[str] = []
    for route in routes.pages() if kind == "page" else routes.operations():
        if route.access is None:
            continue  # reported by test_every_route_declares_its_action
        objects = _objects(route.access.model) if route.access.model else [None]
        for obj in objects:
            url = _url(route, obj)
            for role in ROLES:
                web, api, user = clients[role]
                decision = _expected(user, route, obj)
                # operations open only to a browser session (issuing a token) are called with the session
                session = kind == "page" or route.access.extra.get("session_only")
                response = _request(route, web if session else api, url)
                if route.name in SESSION_ENDING and user is not None:
                    web.force_login(user)
                    clients[role] = (web, _api_client(user), user)
                problem = _check(route, role, decision, response)
                if problem:
                    failures.append(f"{problem} ({url})")
                elif kind == "api" and 400 <= response.status_code < 500:
                    body = response.json()  # the one error body of the API
                    if not {"code", "message", "field"} <= set(body):
                        failures.append(
                            f"{route.label} as {role}: error body {sorted(body)} is not the one shape"
                        )
                if not route.access.reveals and not getattr(response, "streaming", False):
                    body = response.content.decode("utf-8", "replace")
                    shown = [v for v in walk_world["clear"] if v in body]
                    if shown:
                        leaks.append(f"{route.label} as {role} shows {len(shown)} clear id numbers/phones")
    assert failures == [], "\n".join(failures)
    assert leaks == [], "\n".join(leaks)
