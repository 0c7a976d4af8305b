"""Participation API (/api/v1/volunteers/): activities, sign-up, check-in by code, my hours, balances, duty.

Scoped like the pages: staff see their communities' objects, members their own; anything else is 404.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status

from tongxin.core.api import ApiError, ErrorOut
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.models import Account
from tongxin.regions.models import Grid
from tongxin.volunteers import services
from tongxin.volunteers.access import accounts_visible, community_q, is_staff_user, resident_of
from tongxin.volunteers.choices import ActivityStatus
from tongxin.volunteers.duty import on_duty_users
from tongxin.volunteers.models import Activity

router = Router(tags=["volunteers"])


class ActivityOut(Schema):
    id: int
    title: str
    kind: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    eligibility: str
    hours: Decimal
    status: str


class SignUpOut(Schema):
    id: int
    activity_id: int
    status: str
    checked_in_at: dt.datetime | None = None
    checked_out_at: dt.datetime | None = None


class CodeIn(Schema):
    code: str


class EntryOut(Schema):
    value_date: dt.date
    amount: Decimal
    kind: str
    memo: str


class StatementOut(Schema):
    account_id: int
    unit: str
    balance: Decimal
    start: dt.date
    end: dt.date
    opening: Decimal
    closing: Decimal
    entries: list[EntryOut]


class BalanceOut(Schema):
    account_id: int
    unit: str
    balance: Decimal


class UserOut(Schema):
    id: int
    username: str
    display_name: str


def _me(request: HttpRequest) -> Any:
    me = resident_of(request.user)
    if me is None or me.dwelling is None:
        raise Http404
    return me


def _activities(request: HttpRequest) -> Any:
    if is_staff_user(request.user):
        return Activity.objects.filter(community_q(request.user))
    me = resident_of(request.user)
    if me is None or me.dwelling is None:
        return Activity.objects.none()
    return Activity.objects.filter(community_id=me.dwelling.community_id)


@router.get("/activities", response=list[ActivityOut], summary="Open activities the caller may see")
def list_activities(request: HttpRequest) -> Any:
    return list(
        _activities(request)
        .filter(status=ActivityStatus.OPEN, starts_at__gt=timezone.now())
        .order_by("starts_at")[:100]
    )


@router.post(
    "/activities/{activity_id}/signup",
    response={201: SignUpOut, 400: ErrorOut, 404: ErrorOut},
    summary="Sign up (goes to the waiting list when full)",
)
def sign_up(request: HttpRequest, activity_id: int) -> Any:
    me = _me(request)
    act = get_object_or_404(Activity, pk=activity_id, community_id=me.dwelling.community_id)
    try:
        return Status(201, services.sign_up(act, me, actor=request.user))
    except services.ParticipationError as err:
        raise ApiError(400, "invalid", str(err)) from None


@router.post(
    "/checkin", response={200: SignUpOut, 400: ErrorOut}, summary="Check in with the activity's code"
)
def check_in(request: HttpRequest, payload: CodeIn) -> Any:
    try:
        return Status(200, services.check_in(_me(request), payload.code, actor=request.user))
    except services.ParticipationError as err:
        raise ApiError(400, "invalid", str(err)) from None


@router.post(
    "/checkout", response={200: SignUpOut, 400: ErrorOut}, summary="Check out with the activity's code"
)
def check_out(request: HttpRequest, payload: CodeIn) -> Any:
    try:
        return Status(200, services.check_out(_me(request), payload.code, actor=request.user))
    except services.ParticipationError as err:
        raise ApiError(400, "invalid", str(err)) from None


def _statement(account: Account, start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
    if start is None or end is None:
        start, end = ledger.quarter_bounds(timezone.localdate())
    st = ledger.statement(account, start, end)
    return {
        "account_id": account.pk,
        "unit": account.unit,
        "balance": account.balance,
        "start": start,
        "end": end,
        "opening": st.opening,
        "closing": st.closing,
        "entries": [
            {"value_date": e.value_date, "amount": e.amount, "kind": e.kind, "memo": e.transaction.memo}
            for e in st.entries
        ],
    }


@router.get(
    "/me/hours", response=StatementOut, summary="My hours: balance and statement (default this quarter)"
)
def my_hours(request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None) -> Any:
    return _statement(ledger.person_account(_me(request), Unit.HOURS), start, end)


@router.get("/accounts/{account_id}/balance", response=BalanceOut, summary="An account's balance (staff)")
def balance(request: HttpRequest, account_id: int) -> Any:
    if not is_staff_user(request.user):
        raise Http404
    account = get_object_or_404(accounts_visible(request.user), pk=account_id)
    return {"account_id": account.pk, "unit": account.unit, "balance": account.balance}


@router.get("/on-duty", response=list[UserOut], summary="Members on duty now in a grid (staff)")
def on_duty(request: HttpRequest, grid: int) -> Any:
    if not is_staff_user(request.user):
        raise Http404
    g = get_object_or_404(Grid.objects.filter(community_q(request.user)), pk=grid)
    return [
        {"id": u.pk, "username": u.username, "display_name": u.display_name} for u in on_duty_users(None, g)
    ]
