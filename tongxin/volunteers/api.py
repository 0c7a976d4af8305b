"""Participation API (/api/v1/volunteers/): activities, sign-up, check-in by code, my hours, balances, duty.

Every operation declares its action (``volunteers/policy.py``, ``ledger/policy.py``): staff reach the objects of
the communities they work in, members and residents those of the community where they live and their own; anything
else is 404. Errors are the one body of ``tongxin.core.api``; a rule of participation that refuses the request
(full, not open, already signed up, wrong code …) answers 409 ``refused`` with the reason.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, paginate, paginate_list
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.models import Account
from tongxin.ledger.policy import resident_of
from tongxin.regions.models import Grid
from tongxin.volunteers import services
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
    points: Decimal
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
    account_id: int | None = Field(description="null while the account is not linked to a resident")
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


def _refused(err: Exception) -> ApiError:
    return ApiError(409, "refused", str(err))


def _me(request: HttpRequest) -> Any:
    """The caller's resident record; an account not linked to one cannot act as a participant yet (409)."""
    me = resident_of(request.user)
    if me is None or me.dwelling is None:
        raise ApiError(409, "no_resident", _("您的账号还没有关联居民信息"))
    return me


@router.get(
    "/activities",
    response={200: Paged[ActivityOut], **ERRORS},
    summary="Upcoming open activities: staff, of their communities; members and residents, of their own",
)
@policy.operation("volunteers.view_home")
def list_activities(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    staff = policy.can(request.user, "volunteers.view_activity")
    action = "volunteers.view_activity" if staff else "volunteers.join_activity"
    qs = policy.restrict(Activity.objects.all(), request.user, action)
    return paginate(
        qs.filter(status=ActivityStatus.OPEN, starts_at__gt=timezone.now()).order_by("starts_at", "pk"),
        page,
        page_size,
    )


@router.post(
    "/activities/{int:activity_id}/signup",
    response={201: SignUpOut, **ERRORS},
    summary="Sign up (goes to the waiting list when full)",
)
@policy.operation("volunteers.join_activity", model="volunteers.Activity")
def sign_up(request: HttpRequest, activity_id: int) -> Any:
    act = policy.get_or_deny(Activity.objects.all(), request.user, "volunteers.join_activity", pk=activity_id)
    try:
        return Status(201, services.sign_up(act, _me(request), actor=request.user))
    except services.ParticipationError as err:
        raise _refused(err) from None


@router.post("/checkin", response={200: SignUpOut, **ERRORS}, summary="Check in with the activity's code")
@policy.operation("volunteers.check_in")
def check_in(request: HttpRequest, payload: CodeIn) -> Any:
    try:
        return services.check_in(_me(request), payload.code, actor=request.user)
    except services.ParticipationError as err:
        raise _refused(err) from None


@router.post("/checkout", response={200: SignUpOut, **ERRORS}, summary="Check out with the activity's code")
@policy.operation("volunteers.check_in")
def check_out(request: HttpRequest, payload: CodeIn) -> Any:
    try:
        return services.check_out(_me(request), payload.code, actor=request.user)
    except services.ParticipationError as err:
        raise _refused(err) from None


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
    "/me/hours",
    response={200: StatementOut, **ERRORS},
    summary="My hours: balance and statement (default this quarter)",
)
@policy.operation("volunteers.view_own_hours")
def my_hours(request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None) -> Any:
    me = resident_of(request.user)
    if me is None or me.dwelling is None:  # not linked yet: no hours, nothing to refuse
        start, end = start or timezone.localdate(), end or timezone.localdate()
        zero = Decimal("0")
        return {
            "account_id": None,
            "unit": Unit.HOURS,
            "balance": zero,
            "start": start,
            "end": end,
            "opening": zero,
            "closing": zero,
            "entries": [],
        }
    return _statement(ledger.person_account(me, Unit.HOURS), start, end)


@router.get(
    "/accounts/{int:account_id}/balance",
    response={200: BalanceOut, **ERRORS},
    summary="An account's balance (staff, accounts in scope)",
)
@policy.operation("ledger.view_account", model="ledger.Account")
def balance(request: HttpRequest, account_id: int) -> Any:
    account = policy.get_or_deny(Account.objects.all(), request.user, "ledger.view_account", pk=account_id)
    return {"account_id": account.pk, "unit": account.unit, "balance": account.balance}


@router.get(
    "/on-duty",
    response={200: Paged[UserOut], **ERRORS},
    summary="Members on duty now in a grid (staff of its community)",
)
@policy.operation("volunteers.view_on_duty", model="regions.Grid", query="grid")
def on_duty(request: HttpRequest, grid: int, page: int = PageNumber, page_size: int = PageSize) -> Any:
    g = policy.get_or_deny(Grid.objects.all(), request.user, "volunteers.view_on_duty", pk=grid)
    users = [
        {"id": u.pk, "username": u.username, "display_name": u.display_name} for u in on_duty_users(None, g)
    ]
    return paginate_list(users, page, page_size)
