"""API authentication (bearer token or the browser session), the caller's own profile and tokens, and the
helpers every router shares: pagination and the JSON shape of validation errors.

A token is shown once, when it is issued; only its SHA-256 hash is stored. Tokens are issued from a signed-in
browser session (``POST /api/v1/tokens``) or by an operator (``manage.py issue_token``), never with another
token, so a leaked token cannot extend its own life.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, NinjaAPI, Router, Schema, Status
from ninja.security import HttpBearer, django_auth

from tongxin.core import audit
from tongxin.core.models import ApiToken, AuditLog, User
from tongxin.core.pagination import capped_count
from tongxin.regions.scoping import scope_for

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(token), revoked=False, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        if row.last_used_at is None or (timezone.now() - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.user = row.user
        return row.user


def ApiAuth() -> list:
    return [BearerToken(), django_auth]


# --- shared helpers ---------------------------------------------------------------------------------------


def paginate(qs: QuerySet, page: int, page_size: int) -> dict[str, Any]:
    """One capped COUNT and one page query (plus whatever prefetches ``qs`` carries), whatever the page size.

    ``count`` stops at ``COUNT_CAP`` (``count_capped`` is then true), as on the list pages: an exact count of a
    broad search costs more than the page. Pages past the cap are still served."""
    count, capped = capped_count(qs)
    start = (page - 1) * page_size
    items = list(qs[start : start + page_size]) if start < count or capped else []
    return {"count": count, "count_capped": capped, "page": page, "page_size": page_size, "items": items}


def validation_error_detail(exc: DjangoValidationError) -> list[dict[str, Any]]:
    """A Django ``ValidationError`` in the shape of Ninja's 422 ``detail``: one entry per message, ``loc``
    naming the field (``["body", "id_number"]``), or ``["body"]`` for errors not tied to one field."""
    detail: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            loc = ["body"] if field in ("__all__", None) else ["body", field]
            for error in errors:
                for message in error.messages:
                    detail.append({"loc": loc, "msg": str(message), "type": error.code or "invalid"})
    else:
        for error in exc.error_list:
            for message in error.messages:
                detail.append({"loc": ["body"], "msg": str(message), "type": error.code or "invalid"})
    return detail


def validation_error_handler(api: NinjaAPI) -> Callable[[HttpRequest, Any], HttpResponse]:
    """For ``api.add_exception_handler``: service ValidationErrors become 422 JSON naming the field."""

    def handle(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return api.create_response(request, {"detail": validation_error_detail(exc)}, status=422)

    return handle


class Ref(Schema):
    """A reference to another object: its id and a human-readable name."""

    id: int
    name: str


class ErrorOut(Schema):
    detail: Any


# --- the caller and their tokens --------------------------------------------------------------------------

router = Router(tags=["me"])


class MeOut(Schema):
    username: str
    display_name: str
    roles: list[str]


@router.get("/me", response=MeOut, summary="The caller and their roles")
def me(request: HttpRequest) -> dict:
    user = request.user
    return {
        "username": user.username,
        "display_name": getattr(user, "display_name", ""),
        "roles": sorted(scope_for(user).roles),
    }


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The first 8 characters of the key, to recognise it")
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, description="What the token is for, e.g. 'grid app'")


class TokenIssuedOut(TokenOut):
    key: str = Field(description="The bearer key. Shown only now; store it, it cannot be recovered.")


@router.get("/tokens", response=list[TokenOut], summary="My API tokens (without their keys)")
def list_tokens(request: HttpRequest) -> QuerySet:
    return ApiToken.objects.filter(user=_me(request)).order_by("-created_at", "-id")


@router.post(
    "/tokens",
    response={201: TokenIssuedOut},
    auth=django_auth,
    summary="Issue a token for me (signed-in browser session only)",
)
def issue_token(request: HttpRequest, payload: TokenIn) -> Status:
    token, key = ApiToken.issue(_me(request), payload.name.strip())
    audit.record(
        AuditLog.Action.CREATE, token, actor=request.user, after={"name": token.name, "prefix": token.prefix}
    )
    return Status(201, {**_token_dict(token), "key": key})


@router.delete("/tokens/{int:token_id}", response={204: None}, summary="Revoke one of my tokens")
def revoke_token(request: HttpRequest, token_id: int) -> Status:
    token = get_object_or_404(ApiToken, pk=token_id, user=_me(request))
    if not token.revoked:
        revoke(token, actor=request.user)
    return Status(204, None)


def revoke(token: ApiToken, actor: Any = None) -> None:
    """Revoke ``token`` (kept, never deleted, so the audit trail still names it)."""
    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    token.revoked = True
    audit.record(
        AuditLog.Action.UPDATE,
        token,
        actor=actor,
        field="revoked",
        before={"revoked": False},
        after={"revoked": True},
    )


def _me(request: HttpRequest) -> User:
    """The authenticated caller (every endpoint here requires authentication)."""
    return cast(User, request.user)


def _token_dict(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked": token.revoked,
    }
