"""Visits and health services over the API (thin: the policy and care.services decide)."""

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from tongxin.care import services
from tongxin.care.choices import OPEN_VISIT_STATES, FollowUp
from tongxin.care.models import HealthService, Visit
from tongxin.core import policy
from tongxin.core.api import ERRORS, Paged, PageNumber, PageSize, paginate, paginate_list
from tongxin.people.models import Resident

router = Router(tags=["care"])


class VisitOut(Schema):
    id: int
    state: str
    source: str
    reason: str
    due_on: dt.date
    household_id: int
    resident_id: int | None
    dwelling_id: int
    grid_id: int
    visited_at: dt.datetime | None
    findings: str
    follow_up: str
    case_id: int | None


class VisitIn(Schema):
    findings: str = Field(min_length=1)
    follow_up: FollowUp = FollowUp.NONE
    category: str | None = Field(None, description="Case category id or service code, for follow_up 'case'")


class HealthOut(Schema):
    id: int
    kind: str
    title: str
    place: str
    starts_at: dt.datetime
    capacity: int
    state: str
    signed_up: bool = False


class SignUpOut(Schema):
    id: int
    service_id: int
    state: str


@router.get("/visits", response={200: Paged[VisitOut], **ERRORS}, summary="Visits I may see (open first)")
@policy.operation("care.view_visits")
def list_visits(
    request: HttpRequest, open_only: bool = True, page: int = PageNumber, page_size: int = PageSize
) -> Any:
    qs = policy.restrict(Visit.objects.all(), request.user, "care.view_visits")
    if open_only:
        qs = qs.filter(state__in=OPEN_VISIT_STATES)
    return paginate(qs.order_by("-state", "due_on", "pk"), page, page_size)


@router.post("/visits/{int:visit_id}/record", response={200: VisitOut, **ERRORS}, summary="Record a visit")
@policy.operation("care.record_visit", model="care.Visit")
def record_visit(request: HttpRequest, visit_id: int, payload: VisitIn) -> Any:
    visit = policy.get_or_deny(Visit.objects.all(), request.user, "care.view_visits", pk=visit_id)
    return services.record_visit(
        request.user, visit, findings=payload.findings, follow_up=payload.follow_up, category=payload.category
    )


@router.get(
    "/health/mine", response={200: Paged[HealthOut], **ERRORS}, summary="Health services I may sign up for"
)
@policy.operation("care.my_health")
def my_health(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    resident = (
        Resident.objects.filter(user_id=request.user.pk or 0, status="active")
        .select_related("dwelling")
        .first()
    )
    rows = services.open_services_for(resident) if resident is not None else []
    return paginate_list([{**_health(s), "signed_up": mine} for s, mine in rows], page, page_size)


def _health(s: HealthService) -> dict[str, Any]:
    return {
        "id": s.pk,
        "kind": s.kind,
        "title": s.title,
        "place": s.place,
        "starts_at": s.starts_at,
        "capacity": s.capacity,
        "state": s.state,
    }


@router.post(
    "/health/{int:service_id}/sign-up", response={201: SignUpOut, **ERRORS}, summary="Sign myself up"
)
@policy.operation("care.sign_up_self", model="care.HealthService")
def sign_up(request: HttpRequest, service_id: int) -> Any:
    service = policy.get_or_deny(
        HealthService.objects.all(), request.user, "care.sign_up_self", pk=service_id
    )
    resident = services.eligible(service).filter(user_id=request.user.pk or 0).first()
    if resident is None:
        raise Http404
    signup = services.sign_up(request.user, service, resident)
    return Status(201, {"id": signup.pk, "service_id": service.pk, "state": signup.state})
