"""Points API (/api/v1/points/): weigh-ins from staff or a scale (Idempotency-Key), my points, rewards,
redemption, leaderboards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from tongxin.core.api import ApiError, ErrorOut
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.people.models import Household
from tongxin.points import services
from tongxin.points.models import CollectionPoint, Reward, WasteType
from tongxin.volunteers.access import community_q, is_staff_user, resident_of, staff_community_ids

router = Router(tags=["points"])


class WeighInIn(Schema):
    household_id: int
    waste_type: str = Field(description="waste type code, e.g. paper, kitchen")
    kg: Decimal = Field(gt=0, le=500)
    collection_point_id: int | None = None


class WeighInOut(Schema):
    id: int
    household_id: int
    kg: Decimal
    points: Decimal
    balance: Decimal
    created: bool


class RewardOut(Schema):
    id: int
    name: str
    price: Decimal
    stock: int


class RedeemIn(Schema):
    reward_id: int
    quantity: int = Field(1, ge=1, le=20)
    household_id: int | None = Field(None, description="staff only; residents redeem for their own household")


class RedemptionOut(Schema):
    id: int
    reward_id: int
    quantity: int
    points: Decimal
    balance: Decimal


class PointsOut(Schema):
    household_id: int
    balance: Decimal
    exchange_day: int


class BoardRow(Schema):
    id: int
    name: str
    points: Decimal


@router.post(
    "/weigh-ins",
    response={200: WeighInOut, 201: WeighInOut, 400: ErrorOut, 404: ErrorOut},
    summary="Record a weigh-in (staff or a scale's token); send an Idempotency-Key header",
)
def weigh_in(request: HttpRequest, payload: WeighInIn) -> Any:
    """A retried request with the same ``Idempotency-Key`` answers 200 with the first result and credits nothing."""
    if not is_staff_user(request.user):
        raise Http404
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 100:
        raise ApiError(
            400,
            "idempotency_key_required",
            _("请求头 Idempotency-Key 必填（1–100个字符）"),
            "Idempotency-Key",
        )
    household = get_object_or_404(
        Household.objects.visible_to(request.user).select_related("dwelling__community"),
        pk=payload.household_id,
    )
    waste = get_object_or_404(
        WasteType, community_id=household.dwelling.community_id, code=payload.waste_type
    )
    point = None
    if payload.collection_point_id:
        point = get_object_or_404(
            CollectionPoint, pk=payload.collection_point_id, community_id=household.dwelling.community_id
        )
    try:
        wi, created = services.record_weigh_in(
            household,
            waste,
            payload.kg,
            idempotency_key=f"api:{request.user.pk}:{key}",
            actor=request.user,
            collection_point=point,
        )
    except services.PointsError as err:
        raise ApiError(400, "invalid", str(err)) from None
    out = {
        "id": wi.pk,
        "household_id": household.pk,
        "kg": wi.kg,
        "points": wi.points,
        "balance": services.household_balance(household),
        "created": created,
    }
    return Status(201 if created else 200, out)


def _my_household(request: HttpRequest) -> Household:
    me = resident_of(request.user)
    if me is None or me.household is None or me.dwelling is None:
        raise Http404
    return me.household


@router.get("/me", response=PointsOut, summary="My household's points")
def my_points(request: HttpRequest) -> Any:
    hh = _my_household(request)
    return {
        "household_id": hh.pk,
        "balance": ledger.household_account(hh, Unit.POINTS).balance,
        "exchange_day": services.policy_for(hh.dwelling.community_id).exchange_day,
    }


@router.get("/rewards", response=list[RewardOut], summary="Goods in the rewards shop")
def rewards(request: HttpRequest) -> Any:
    if is_staff_user(request.user):
        return list(Reward.objects.filter(community_q(request.user), active=True).order_by("price", "pk"))
    hh = _my_household(request)
    return list(
        Reward.objects.filter(community_id=hh.dwelling.community_id, active=True).order_by("price", "pk")
    )


@router.post(
    "/redemptions", response={201: RedemptionOut, 400: ErrorOut, 404: ErrorOut}, summary="Redeem goods"
)
def redeem(request: HttpRequest, payload: RedeemIn) -> Any:
    if payload.household_id is not None:
        if not is_staff_user(request.user):
            raise Http404
        hh = get_object_or_404(
            Household.objects.visible_to(request.user).select_related("dwelling__community"),
            pk=payload.household_id,
        )
    else:
        hh = _my_household(request)
    reward = get_object_or_404(Reward, pk=payload.reward_id, community_id=hh.dwelling.community_id)
    key = (request.headers.get("Idempotency-Key") or "").strip()[:100] or None
    try:
        r = services.redeem(
            hh,
            reward,
            payload.quantity,
            actor=request.user,
            idempotency_key=f"{request.user.pk}:{key}" if key else None,
        )
    except services.PointsError as err:
        raise ApiError(400, "invalid", str(err)) from None
    return Status(
        201,
        {
            "id": r.pk,
            "reward_id": reward.pk,
            "quantity": r.quantity,
            "points": r.points,
            "balance": services.household_balance(hh),
        },
    )


@router.get("/leaderboard", response=list[BoardRow], summary="Points per building or estate this month")
def leaderboard(request: HttpRequest, by: str = "building") -> Any:
    if by not in {"building", "estate"}:
        raise Http404
    if is_staff_user(request.user):
        communities = staff_community_ids(request.user)
    else:
        communities = [_my_household(request).dwelling.community_id]
    today = timezone.localdate()
    return services.leaderboard(communities, by, today.replace(day=1), today)
