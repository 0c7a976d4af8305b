"""The caller's own account in the API: who am I (``/me``), my tokens (``/tokens``) and my notifications
(``/notifications``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from tongxin.accounts import services
from tongxin.core import policy
from tongxin.core.api import ERRORS, Paged, PageNumber, PageSize, paginate
from tongxin.core.models import ApiToken, User
from tongxin.core.policy import ANONYMOUS, AUTHENTICATED, roles_of

router = Router(tags=["me"])


class MeOut(Schema):
    username: str
    display_name: str
    roles: list[str]


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The caller and their roles")
@policy.operation("accounts.view_profile")
def me(request: HttpRequest) -> dict:
    user = request.user
    return {
        "username": user.username,
        "display_name": getattr(user, "display_name", ""),
        "roles": sorted(roles_of(user) - {ANONYMOUS, AUTHENTICATED}),
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


@router.get(
    "/tokens", response={200: Paged[TokenOut], **ERRORS}, summary="My API tokens (without their keys)"
)
@policy.operation("accounts.manage_tokens")
def list_tokens(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> dict[str, Any]:
    return paginate(
        ApiToken.objects.filter(user=_me(request)).order_by("-created_at", "-id"), page, page_size
    )


@router.post(
    "/tokens",
    response={201: TokenIssuedOut, **ERRORS},
    auth=django_auth,
    summary="Issue a token for me (signed-in browser session only)",
)
@policy.operation("accounts.manage_tokens", session_only=True)
def issue_token(request: HttpRequest, payload: TokenIn) -> Status:
    token, key = services.issue_token(_me(request), payload.name, actor=request.user)
    return Status(201, {**_token_dict(token), "key": key})


@router.delete("/tokens/{int:token_id}", response={204: None, **ERRORS}, summary="Revoke one of my tokens")
@policy.operation("accounts.manage_tokens", model="core.ApiToken")
def revoke_token(request: HttpRequest, token_id: int) -> Status:
    # another user's token is "not found" (the rule's where: the caller's own tokens)
    token = policy.get_or_deny(ApiToken.objects.all(), request.user, "accounts.manage_tokens", pk=token_id)
    services.revoke_token(token, actor=request.user)
    return Status(204, None)


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


# --- notifications --------------------------------------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    link: str = Field(description="Path of the page the notification is about")
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


@router.get(
    "/notifications",
    response={200: Paged[NotificationOut], **ERRORS},
    tags=["notifications"],
    summary="My notifications, newest first",
)
@policy.operation("accounts.view_notifications")
def list_notifications(
    request: HttpRequest,
    unread: bool = Query(False, description="Only the unread ones"),
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    qs = services.inbox(request.user)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return paginate(qs, page, page_size)


@router.get(
    "/notifications/unread-count",
    response={200: UnreadOut, **ERRORS},
    tags=["notifications"],
    summary="How many of my notifications are unread (the bell)",
)
@policy.operation("accounts.view_notifications")
def unread_notifications(request: HttpRequest) -> dict:
    return {"unread": services.unread_count(request.user)}


@router.post(
    "/notifications/{int:notification_id}/read",
    response={200: NotificationOut, **ERRORS},
    tags=["notifications"],
    summary="Mark one of my notifications read",
)
@policy.operation("accounts.read_notifications", model="core.Notification")
def read_notification(request: HttpRequest, notification_id: int) -> Any:
    return services.mark_read(request.user, notification_id)


@router.post(
    "/notifications/read-all",
    response={200: MarkedOut, **ERRORS},
    tags=["notifications"],
    summary="Mark all my notifications read",
)
@policy.operation("accounts.read_notifications")
def read_all_notifications(request: HttpRequest) -> dict:
    return {"marked": services.mark_all_read(request.user)}
