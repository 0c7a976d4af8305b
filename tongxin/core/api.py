"""API authentication (bearer token or the browser session) and what every router shares: the one error body,
the one list envelope and pagination.

Tokens are stored as SHA-256 hashes (:class:`tongxin.core.models.ApiToken`); issuing and revoking them is
``tongxin.accounts`` (``/api/v1/tokens``, ``manage.py issue_token``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Schema
from ninja.security import HttpBearer, django_auth

from tongxin.core.memo import Memo
from tongxin.core.models import ApiToken
from tongxin.core.pagination import capped_count

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


# token hash -> [token pk, last used, user] (or None: no such usable token); emptied when a token or a user is
# saved or deleted (tongxin/core/apps.py) and when a token is revoked (accounts.services.revoke_token)
TOKENS = Memo("api-tokens", ttl=60.0)


def _token_row(key_hash: str) -> list[Any] | None:
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash, revoked=False, user__is_active=True)
        .first()
    )
    return None if row is None else [row.pk, row.last_used_at, row.user]


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        known = getattr(request, "_tongxin_token_user", None)
        if known is not None:  # the policy gate authenticated this request already
            return known
        key_hash = ApiToken.hash_key(token)
        found = TOKENS.get(key_hash, lambda: _token_row(key_hash))
        if found is None:
            return None
        pk, last_used, user = found
        user = copy.copy(user)  # each request its own object: the policy caches roles and scope on it
        if user.is_locked:  # an operator-locked user's tokens stop working too
            return None
        now = timezone.now()
        if last_used is None or (now - last_used).total_seconds() > 60:
            ApiToken.objects.filter(pk=pk).update(last_used_at=now)
            found[1] = now
        request.user = user
        request._tongxin_token_user = user  # type: ignore[attr-defined]
        return user


def ApiAuth() -> list:
    return [BearerToken(), django_auth]


# --- the one API shape: errors and lists -----------------------------------------------------------------


class ApiError(Exception):
    """Raised anywhere below an endpoint to answer ``{"code", "message", "field"}`` with ``status``."""

    def __init__(self, status: int, code: str, message: Any, field: str = "") -> None:
        super().__init__(str(message))
        self.status, self.code, self.message, self.field = status, code, str(message), field


class ErrorOut(Schema):
    """The one error body of /api/v1: a stable machine ``code``, a ``message`` in the request's language and the
    ``field`` it concerns (``""`` when it concerns the request as a whole). Validation errors that name several
    fields list them all in ``errors`` (same three keys each); ``code``/``message``/``field`` repeat the first."""

    code: str
    message: str
    field: str = ""
    errors: list[dict[str, str]] = Field(default_factory=list)


# Declare these on an operation's ``response`` so the OpenAPI schema lists the error answers.
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


def error_body(code: str, message: Any, field: str = "", errors: list[dict[str, str]] | None = None) -> dict:
    return {"code": code, "message": str(message), "field": field, "errors": errors or []}


def validation_errors(exc: DjangoValidationError) -> list[dict[str, str]]:
    """A Django ``ValidationError`` as ``[{code, message, field}]``, one entry per message."""
    out: list[dict[str, str]] = []
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            field = "" if name in ("__all__", None) else str(name)
            for error in errors:
                for message in error.messages:
                    out.append({"code": error.code or "invalid", "message": str(message), "field": field})
    else:
        for error in exc.error_list:
            for message in error.messages:
                out.append({"code": error.code or "invalid", "message": str(message), "field": ""})
    return out


def _schema_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Ninja/pydantic schema errors (``loc``: ``["body", "payload", "name"]``) in the one shape."""
    out = []
    for e in errors:
        loc = [
            str(p)
            for p in e.get("loc", ())
            if p not in ("body", "query", "path", "form", "payload", "header")
        ]
        field = ".".join(loc)
        msg = e.get("msg", "")
        out.append(
            {
                "code": str(e.get("type", "invalid")),
                "message": str(_("参数 %(field)s 无效：%(msg)s") % {"field": field or "-", "msg": msg}),
                "field": field,
            }
        )
    return out


def install_error_handlers(api: NinjaAPI) -> None:
    """Every error of every router answers the one body (see :class:`ErrorOut`)."""
    from ninja.errors import AuthenticationError, HttpError
    from ninja.errors import ValidationError as SchemaError

    from tongxin.core.policy import Decision, PolicyDenied

    def respond(request: HttpRequest, status: int, body: dict) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, error_body(exc.code, exc.message, exc.field))

    def on_policy(request: HttpRequest, exc: PolicyDenied) -> HttpResponse:
        if exc.decision is Decision.LOGIN:
            return respond(request, 401, error_body("unauthenticated", _("请先登录")))
        if exc.decision is Decision.NOT_FOUND:
            return respond(request, 404, error_body("not_found", _("对象不存在或不在您的管辖范围内")))
        return respond(request, 403, error_body("forbidden", exc.message or _("无权执行此操作")))

    def on_404(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 404, error_body("not_found", _("对象不存在或不在您的管辖范围内")))

    def on_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 403, error_body("forbidden", str(exc) or _("无权执行此操作")))

    def on_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        errors = validation_errors(exc)
        first = errors[0] if errors else {"code": "invalid", "message": str(_("输入无效")), "field": ""}
        return respond(request, 422, error_body(first["code"], first["message"], first["field"], errors))

    def on_schema(request: HttpRequest, exc: SchemaError) -> HttpResponse:
        errors = _schema_errors(list(exc.errors))
        first = errors[0] if errors else {"code": "invalid", "message": str(_("输入无效")), "field": ""}
        return respond(request, 422, error_body("invalid", first["message"], first["field"], errors))

    def on_out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
        # the last line of defence: a number no column can hold (an id of 2^63) is the client's error, not a 500
        return respond(request, 422, error_body("out_of_range", _("参数超出允许范围")))

    def on_auth(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 401, error_body("unauthenticated", _("请先登录或提供有效的令牌")))

    def on_http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
            exc.status_code, "error"
        )
        return respond(request, exc.status_code, error_body(code, str(exc)))

    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (ApiError, on_api_error),
        (PolicyDenied, on_policy),
        (Http404, on_404),
        (PermissionDenied, on_denied),
        (DjangoValidationError, on_validation),
        (SchemaError, on_schema),
        (AuthenticationError, on_auth),
        (HttpError, on_http),
        (OverflowError, on_out_of_range),
        (DataError, on_out_of_range),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


T = TypeVar("T")


class Paged(Schema, Generic[T]):
    """The one list envelope: ``count`` (capped at ``COUNT_CAP``; ``count_capped`` then true), ``page``,
    ``page_size`` and the page's ``items``."""

    count: int
    count_capped: bool = False
    page: int
    page_size: int
    items: list[T]


PageNumber = Query(1, ge=1, le=1_000_000, description="Page number, from 1")
# An optional id filter in a query: bounded, so no database is asked about a number no column holds.
ObjectId = Query(None, ge=1, le=2**53, description="Id of the object to filter by")
PageSize = Query(
    DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (at most {MAX_PAGE_SIZE})"
)


def paginate(qs: QuerySet, page: int, page_size: int, *, cap: int | None = None) -> dict[str, Any]:
    """One capped COUNT and one page query (plus whatever prefetches ``qs`` carries), whatever the page size.

    ``count`` stops at ``cap`` (default ``COUNT_CAP``; ``count_capped`` is then true), as on the list pages: an
    exact count of a broad search costs more than the page. Pages past the cap are still served."""
    count, capped = capped_count(qs, cap)
    start = (page - 1) * page_size
    items = list(qs[start : start + page_size]) if start < count or capped else []
    return {"count": count, "count_capped": capped, "page": page, "page_size": page_size, "items": items}


def paginate_list(items: list[Any], page: int, page_size: int) -> dict[str, Any]:
    """The envelope over a list already in memory (small lists such as categories)."""
    start = (page - 1) * page_size
    return {
        "count": len(items),
        "count_capped": False,
        "page": page,
        "page_size": page_size,
        "items": items[start : start + page_size],
    }


class Ref(Schema):
    """A reference to another object: its id and a human-readable name."""

    id: int
    name: str


# --- validation at the edge ------------------------------------------------------------------------------------

# C0 controls and DEL: never in a query value; in a body string only tab, line feed and carriage return.
QUERY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
API_PREFIX = "/api/"


def _json_error(status: int, code: str, message: Any, field: str = "") -> HttpResponse:
    return JsonResponse(
        error_body(code, message, field), status=status, json_dumps_params={"ensure_ascii": False}
    )


def _bad_string(value: Any, path: str = "") -> str | None:
    """The path of the first string in a JSON value that holds a control character, else None."""
    if isinstance(value, str):
        return path if BODY_CONTROL.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if BODY_CONTROL.search(str(key)):
                return where
            found = _bad_string(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _bad_string(item, f"{path}.{i}" if path else str(i))
            if found is not None:
                return found
    return None


class ApiInputGuard:
    """Refuse malformed input to /api/ before any view sees it, with the one error body (never a 500):

    * a control character (NUL included) in a query value, or in a JSON or form string (tab and newlines allowed
      in bodies) — 422 ``invalid_characters`` naming the field;
    * a multipart body without a boundary, or one that does not parse — 400 ``bad_multipart``;
    * a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` — 400 ``too_large``.

    Answers that Django itself produces for /api/ paths outside any operation (404 of an unknown path) are given
    the same JSON body instead of an HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        refused = self.check(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if response.status_code == 404 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return _json_error(404, "not_found", _("对象不存在或不在您的管辖范围内"))
        return response

    def check(self, request: HttpRequest) -> HttpResponse | None:
        import json

        from django.core.exceptions import RequestDataTooBig
        from django.http.multipartparser import MultiPartParserError

        for key, values in request.GET.lists():
            for value in values:
                if QUERY_CONTROL.search(value) or QUERY_CONTROL.search(key):
                    return _json_error(
                        422, "invalid_characters", _("参数 %(f)s 含有不允许的控制字符") % {"f": key}, key
                    )
        content_type = request.content_type or ""
        if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        try:
            if content_type.startswith("multipart/"):
                if "boundary=" not in request.META.get("CONTENT_TYPE", ""):
                    return _json_error(400, "bad_multipart", _("multipart 请求缺少 boundary"))
                form = request.POST
            elif content_type == "application/x-www-form-urlencoded":
                form = request.POST
            else:
                form = None
                body = request.body
        except RequestDataTooBig:
            return _json_error(400, "too_large", _("请求内容过大"))
        except MultiPartParserError:
            return _json_error(400, "bad_multipart", _("multipart 请求格式错误"))
        if form is not None:
            for key, values in form.lists():
                for value in values:
                    if BODY_CONTROL.search(value):
                        return _json_error(
                            422, "invalid_characters", _("参数 %(f)s 含有不允许的控制字符") % {"f": key}, key
                        )
            return None
        if content_type.endswith("json") and body:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                return None  # Ninja answers malformed JSON itself (one error body)
            where = _bad_string(data)
            if where is not None:
                return _json_error(
                    422,
                    "invalid_characters",
                    _("参数 %(f)s 含有不允许的控制字符") % {"f": where or "-"},
                    where,
                )
        return None
