"""Points API (/api/v1/points/): weigh-ins from staff or a scale (Idempotency-Key), my points, rewards,
redemption, leaderboards.

Every operation declares its action (``points/policy.py``): staff reach households in their scope and the shops of
the communities they work in; residents their own household and their community's shop; anything else is 404. A
rule of the points that refuses the request (not exchange day, not enough points, out of stock …) answers 409
``refused`` with the reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, paginate, paginate_list
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.policy import home_community_id, resident_of
from tongxin.people.models import Household
from tongxin.points import services
from tongxin.points.models import CollectionPoint, Reward, WasteType
from tongxin.regions.policy import community_ids

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
    household_id: int | None = Field(description="null while the account is not linked to a household")
    balance: Decimal
    exchange_day: int | None


class BoardRow(Schema):
    id: int
    name: str
    points: Decimal


def _refused(err: Exception) -> ApiError:
    return ApiError(409, "refused", str(err))


def _household(request: HttpRequest, pk: int, action: str) -> Household:
    households = Household.objects.select_related("dwelling__community")
    return policy.get_or_deny(households, request.user, action, pk=pk)


@router.post(
    "/weigh-ins",
    response={200: WeighInOut, 201: WeighInOut, **ERRORS},
    summary="Record a weigh-in (staff or a scale's token); send an Idempotency-Key header",
)
@policy.operation("points.record_weigh_in")
def weigh_in(request: HttpRequest, payload: WeighInIn) -> Any:
    """A retried request with the same ``Idempotency-Key`` answers 200 with the first result and credits nothing."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 100:
        raise ApiError(
            400,
            "idempotency_key_required",
            _("请求头 Idempotency-Key 必填（1–100个字符）"),
            "Idempotency-Key",
        )
    household = _household(request, payload.household_id, "points.record_weigh_in")
    community_id = household.dwelling.community_id
    waste = WasteType.objects.filter(community_id=community_id, code=payload.waste_type).first()
    if waste is None:
        raise ApiError(422, "unknown_waste_type", _("本社区没有这个垃圾类别"), "waste_type")
    point = None
    if payload.collection_point_id:
        point = CollectionPoint.objects.filter(
            pk=payload.collection_point_id, community_id=community_id
        ).first()
        if point is None:
            raise ApiError(422, "unknown_collection_point", _("本社区没有这个回收点"), "collection_point_id")
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
        raise _refused(err) from None
    out = {
        "id": wi.pk,
        "household_id": household.pk,
        "kg": wi.kg,
        "points": wi.points,
        "balance": services.household_balance(household),
        "created": created,
    }
    return Status(201 if created else 200, out)


def _my_household(request: HttpRequest) -> Household | None:
    me = resident_of(request.user)
    if me is None or me.household is None or me.dwelling is None:
        return None
    return me.household


def _no_household() -> ApiError:
    return ApiError(409, "no_household", _("您的账号还没有关联居民家庭，积分记在家庭名下"))


@router.get("/me", response={200: PointsOut, **ERRORS}, summary="My household's points (none while unlinked)")
@policy.operation("points.view_own")
def my_points(request: HttpRequest) -> Any:
    hh = _my_household(request)
    if hh is None:
        return {"household_id": None, "balance": Decimal("0"), "exchange_day": None}
    return {
        "household_id": hh.pk,
        "balance": ledger.household_account(hh, Unit.POINTS).balance,
        "exchange_day": services.policy_for(hh.dwelling.community_id).exchange_day,
    }


@router.get(
    "/rewards",
    response={200: Paged[RewardOut], **ERRORS},
    summary="Goods on the shelf: staff, of their communities' shops; residents, of their community's",
)
@policy.operation("points.view_home")
def rewards(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    action = "points.view_shop" if policy.can(request.user, "points.view_shop") else "points.redeem_own"
    qs = policy.restrict(Reward.objects.filter(active=True), request.user, action)
    return paginate(qs.order_by("price", "pk"), page, page_size)


@router.post("/redemptions", response={201: RedemptionOut, **ERRORS}, summary="Redeem goods on exchange day")
@policy.operation("points.view_home")
def redeem(request: HttpRequest, payload: RedeemIn) -> Any:
    if payload.household_id is not None:
        hh: Household | None = _household(request, payload.household_id, "points.redeem_for_household")
        rewards = policy.restrict(Reward.objects.all(), request.user, "points.view_shop")
    else:
        hh = _my_household(request)
        rewards = policy.restrict(Reward.objects.all(), request.user, "points.redeem_own")
    if hh is None:
        raise _no_household()
    reward = get_object_or_404(rewards, pk=payload.reward_id, community_id=hh.dwelling.community_id)
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
        raise _refused(err) from None
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


@router.get(
    "/leaderboard",
    response={200: Paged[BoardRow], **ERRORS},
    summary="Points earned per building or estate this month (the top 20)",
)
@policy.operation("points.view_leaderboards")
def leaderboard(
    request: HttpRequest,
    by: Literal["building", "estate"] = Query("building", description="building or estate"),
    page: int = PageNumber,
    page_size: int = PageSize,
) -> Any:
    if policy.can(request.user, "points.view_shop"):
        communities = community_ids(request.user)
    else:
        home = home_community_id(request.user)
        communities = [home] if home is not None else []
    today = timezone.localdate()
    return paginate_list(services.leaderboard(communities, by, today.replace(day=1), today), page, page_size)
