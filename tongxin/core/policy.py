"""What a user may do: one table of actions, asked by every page, endpoint, button, menu and service.

Access has two questions and each has one answer. *Where* a user works is :class:`tongxin.regions.scoping.Scope`.
*What* a user may do is this module: every app declares its actions in its own ``policy.py`` as :class:`Rule`
rows (``register(Rule(...), ...)``); they are collected when Django starts (``autodiscover_modules("policy")``).
A rule says which roles hold the action (the role gate), where the object must lie (``where``: the scope) and,
optionally, a further condition on the object (``when``: e.g. "not the case's own handler").

Three answers, the same everywhere (:func:`decide`):

* ``LOGIN``      — not signed in, and the action is not open to anonymous users: a page redirects to the login,
  the API answers 401;
* ``NOT_FOUND``  — the user's roles do not include the action at all, or the object lies outside the user's scope:
  404 (we never confirm that something exists to someone who may not see it);
* ``FORBIDDEN``  — the user sees the object but may not do this to it (a rule's ``when``): 403 with the reason;
* ``ALLOW``.

Roles come from *role providers* registered by the apps that know them (regions: role assignments; party: active
party membership), so this module imports no domain app. The roles × actions table is data: ``manage.py
access_docs`` writes ``docs/access.md`` from it, and a test keeps that file current. Web views declare their action
with :func:`page`, API operations with :func:`operation`; ``tongxin/tests/test_routes.py`` walks every route for
every role and fails on a route that declares none.

The model is NetBox's ``RestrictedQuerySet.restrict(user, action)`` plus one view mixin.
"""

from __future__ import annotations

import enum
import functools
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

ANONYMOUS = "anonymous"  # nobody signed in
AUTHENTICATED = "authenticated"  # anyone signed in
SUPERUSER = "superuser"  # the system administrator (Django's is_superuser): every role

M = TypeVar("M", bound=Model)
QS = TypeVar("QS", bound=QuerySet)


class Where(Protocol):
    """Where an object must lie for a user to reach it (implemented in regions/policy.py from the Scope)."""

    description: Any

    def filter(self, qs: QuerySet, user: Any) -> QuerySet: ...

    def test(self, user: Any, obj: Any) -> bool: ...


@dataclass(frozen=True)
class Rule:
    """One action: who holds it, where its objects must lie, and any further condition.

    ``action`` is ``"<app>.<verb>"`` (``people.view_resident``). ``roles`` are role names (see
    :data:`ROLE_LABELS`), or :data:`ANONYMOUS` / :data:`AUTHENTICATED`. ``where`` limits objects to the user's
    scope (both for one object and for querysets, :func:`restrict`); ``when(user, obj)`` is a further condition,
    described for people in ``condition``. ``when`` is also called with ``obj=None`` when a page or menu asks
    whether the user may do the action at all; it should answer for "some object" then (usually True).
    """

    action: str
    roles: frozenset[str]
    label: Any
    where: Where | None = None
    when: Callable[[Any, Any], bool] | None = None
    condition: Any = ""
    reason: Any = ""  # the message shown when ``when`` refuses

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))


class Decision(enum.Enum):
    ALLOW = "allow"
    LOGIN = "login"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"


class PolicyDenied(Exception):
    """Raised by :func:`require`. ``decision`` tells the caller which answer to give (404, 403 or login)."""

    def __init__(self, decision: Decision, action: str, message: str = "") -> None:
        super().__init__(message or action)
        self.decision = decision
        self.action = action
        self.message = message


_RULES: dict[str, Rule] = {}
_ROLE_PROVIDERS: list[Callable[[Any], Iterable[str]]] = []
_PROVIDES: dict[Callable[[Any], Iterable[str]], frozenset[str]] = {}
ROLE_LABELS: dict[str, Any] = {}


def register(*rules: Rule) -> None:
    for rule in rules:
        if rule.action in _RULES and _RULES[rule.action] != rule:
            raise ValueError(f"policy action {rule.action} registered twice")
        _RULES[rule.action] = rule


def role_provider(
    fn: Callable[[Any], Iterable[str]] | None = None, *, provides: Iterable[str] | None = None
) -> Any:
    """Register ``fn(user) -> role names`` (called once per user object, results cached on it). ``provides``
    names every role ``fn`` can answer: a rule's role gate then asks only the providers of the roles it lists
    (the intake's gate asks the role assignments, not the party, committee, mediator and leader registers)."""

    def add(fn: Callable[[Any], Iterable[str]]) -> Callable[[Any], Iterable[str]]:
        if fn not in _ROLE_PROVIDERS:
            _ROLE_PROVIDERS.append(fn)
        if provides is not None:
            _PROVIDES[fn] = frozenset(provides)
        return fn

    return add(fn) if fn is not None else add


def describe_roles(labels: dict[str, Any]) -> None:
    """Human names of roles, for the generated docs (apps add theirs)."""
    ROLE_LABELS.update(labels)


def rule(action: str) -> Rule:
    try:
        return _RULES[action]
    except KeyError:
        raise KeyError(f"no policy rule for action {action!r}: add it to the app's policy.py") from None


def rules() -> list[Rule]:
    return sorted(_RULES.values(), key=lambda r: r.action)


def roles_of(user: Any) -> frozenset[str]:
    """The role names a user holds now (cached on the user object for the request)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset({ANONYMOUS})
    cached = getattr(user, "_tongxin_roles", None)
    if cached is not None:
        return cached
    roles = {AUTHENTICATED}
    if getattr(user, "is_superuser", False):
        roles.add(SUPERUSER)
    for provider in _ROLE_PROVIDERS:
        roles.update(_provided(user, provider))
    result = frozenset(roles)
    user._tongxin_roles = result
    return result


def _provided(user: Any, provider: Callable[[Any], Iterable[str]]) -> frozenset[str]:
    """What ``provider`` answers for ``user``, asked once per user object."""
    answers = user.__dict__.setdefault("_tongxin_role_answers", {})
    if provider not in answers:
        answers[provider] = frozenset(provider(user))
    return answers[provider]


def roles_among(user: Any, wanted: frozenset[str]) -> frozenset[str]:
    """The roles of ``wanted`` that ``user`` holds, asking only the providers that can answer one of them
    (:func:`roles_of` asks them all)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return wanted & {ANONYMOUS}
    cached = getattr(user, "_tongxin_roles", None)
    if cached is not None:
        return cached & wanted
    found = {AUTHENTICATED}
    if getattr(user, "is_superuser", False):
        found.add(SUPERUSER)
    for provider in _ROLE_PROVIDERS:
        provides = _PROVIDES.get(provider)
        if provides is None or provides & wanted:
            found.update(_provided(user, provider))
    return frozenset(found) & wanted


def forget(user: Any) -> None:
    """Drop what was cached on ``user`` (after its roles or memberships change): every ``_tongxin_*`` attribute,
    so the caches apps keep on the user (led places, households, communities) go too."""
    for attr in [a for a in vars(user) if a.startswith("_tongxin_")] if hasattr(user, "__dict__") else []:
        delattr(user, attr)


def holds(user: Any, action: str) -> bool:
    """The role gate alone: does the user hold ``action`` for some object? (Only the role providers that can
    answer one of the rule's roles are asked.)"""
    r = rule(action)
    if not getattr(user, "is_authenticated", False):
        return ANONYMOUS in r.roles
    if getattr(user, "is_superuser", False) or AUTHENTICATED in r.roles:
        return True
    return bool(roles_among(user, r.roles))


def decide(user: Any, action: str, obj: Any = None) -> Decision:
    """The one answer to "may ``user`` do ``action`` (to ``obj``)?"."""
    r = rule(action)
    authenticated = getattr(user, "is_authenticated", False)
    if not holds(user, action):
        return Decision.LOGIN if not authenticated else Decision.NOT_FOUND
    if obj is not None and r.where is not None and not r.where.test(user, obj):
        return Decision.NOT_FOUND
    if r.when is not None and not r.when(user, obj):
        return Decision.FORBIDDEN
    return Decision.ALLOW


def can(user: Any, action: str, obj: Any = None) -> bool:
    return decide(user, action, obj) is Decision.ALLOW


def reason(action: str) -> str:
    r = rule(action)
    return str(r.reason or r.label)


def require(user: Any, action: str, obj: Any = None, *, message: str = "") -> None:
    """Raise :class:`PolicyDenied` unless the user may do ``action`` (to ``obj``)."""
    decision = decide(user, action, obj)
    if decision is not Decision.ALLOW:
        raise PolicyDenied(decision, action, message or reason(action))


def restrict(qs: QS, user: Any, action: str) -> QS:
    """Only the rows of ``qs`` the user may do ``action`` to, as far as the role gate and ``where`` decide
    (a rule's ``when`` is per object and not applied here)."""
    if not holds(user, action):
        return qs.none()
    r = rule(action)
    if r.where is not None and SUPERUSER not in roles_of(user):
        return typing.cast(QS, r.where.filter(qs, user))
    return qs


def get_or_deny(qs: QuerySet[M], user: Any, action: str, **lookup: Any) -> M:
    """The object of ``qs`` matching ``lookup`` if the user may do ``action`` to it; else Http404 (unknown or
    out of scope) or PermissionDenied (visible but refused by the rule's ``when``). One query: the ``where``
    clause is applied in SQL by :func:`restrict`, not tested again per object."""
    obj = restrict(qs, user, action).filter(**lookup).first()
    if obj is None:
        raise Http404
    r = rule(action)
    if r.when is not None and not r.when(user, obj):
        raise PermissionDenied(reason(action))
    return obj


class Owned:
    """Objects whose ``field`` (default ``created_by_id``) is the user: e.g. one's own import jobs."""

    def __init__(self, field: str = "created_by_id", description: Any = None) -> None:
        self.field = field
        self.description = description or "本人创建的"

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(**{self.field: getattr(user, "pk", None)})

    def test(self, user: Any, obj: Any) -> bool:
        return getattr(obj, self.field, None) == getattr(user, "pk", None)


# --- declaring the action of a route ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteAccess:
    """What a route declares: the action it needs, the model of the ``pk`` it takes (for the route walker), and
    whether its body may show clear personal values (the audited reveal)."""

    action: str
    model: str = ""  # "app_label.ModelName" of the object named by the route's first int parameter
    reveals: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def page(
    action: str, *, model: str = "", reveals: bool = False, **extra: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for web views: the role gate of ``action`` (login redirect / 404). The view fetches its object
    with :func:`get_or_deny` (or ``restrict``) for the object-level answer."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            decision = decide(request.user, action)
            if decision is Decision.LOGIN:
                return redirect_to_login(request.get_full_path())
            if decision is Decision.NOT_FOUND:
                raise Http404
            if decision is Decision.FORBIDDEN:
                raise PermissionDenied(reason(action))
            return view(request, *args, **kwargs)

        wrapped.route_access = RouteAccess(action, model, reveals, extra)  # type: ignore[attr-defined]
        return wrapped

    return decorate


def operation(
    action: str, *, model: str = "", reveals: bool = False, **extra: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for API operations (put it below the router's decorator): the role gate of ``action``, checked
    right after authentication and before the request's parameters and body are parsed — a caller who may not use
    the operation learns nothing from validation errors. A refusal answers the API's one error body (404/403,
    401 for anonymous callers)."""
    from ninja.decorators import decorate_view

    def gate(run: Callable[..., Any]) -> Callable[..., Any]:
        operation_ = run.__self__  # type: ignore[attr-defined]

        @functools.wraps(run)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            error = operation_._run_checks(request)  # authentication first (memoised on the request)
            if error:
                return error
            decision = decide(request.user, action)
            if decision is Decision.ALLOW and model and kwargs:
                # the object named by the first path parameter, so that out of scope is 404 before any parsing
                try:
                    found = _model(model)._default_manager.filter(pk=next(iter(kwargs.values()))).first()
                except (ValueError, TypeError, OverflowError, DataError):
                    found = None  # not an id any row can have ("abc", 2^64): no such object
                decision = Decision.NOT_FOUND if found is None else decide(request.user, action, found)
            if decision is not Decision.ALLOW:
                return operation_.api.on_exception(request, PolicyDenied(decision, action, reason(action)))
            return run(request, *args, **kwargs)

        return checked

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.route_access = RouteAccess(action, model, reveals, extra)  # type: ignore[attr-defined]
        return decorate_view(gate)(fn)

    return decorate


def _model(label: str) -> Any:
    from django.apps import apps

    return apps.get_model(label)


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a route that needs no action at all (login page, language switch, health check)."""
    view.route_access = RouteAccess("", "")  # type: ignore[attr-defined]
    return view


def access_of(view: Callable[..., Any]) -> RouteAccess | None:
    return getattr(view, "route_access", None)
