"""Every write to a case: intake, dispatch, claiming, whistle-and-report-in, resolution, feedback, merging.

Each service is atomic, locks the case (``select_for_update``), checks the transition against
:data:`tongxin.cases.choices.TRANSITIONS`, saves with ``update_fields``, appends a :class:`CaseEvent`, updates the
rollup counters (:func:`tongxin.cases.rates.apply_event`) in the same transaction, writes an audit record and
sends notifications on commit. Errors are :class:`~tongxin.cases.choices.CaseError` (or its subclass
:class:`~tongxin.cases.choices.TransitionError`) with a user-readable ``message``; nothing is changed when one
is raised.

Views, the API and Open311 call these functions; they never write case fields themselves.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from tongxin.cases import rates, sla
from tongxin.cases.choices import (
    OPEN_STATES,
    TRANSITIONS,
    CaseError,
    CaseState,
    Channel,
    EventType,
    HandlerKind,
    Rating,
    RatingSource,
    Supervision,
    SweepLevel,
    TransitionError,
    check_action_state,
    check_transition,
)
from tongxin.cases.models import (
    DESCRIPTION_MAX,
    Case,
    CaseCounter,
    CaseEvent,
    CasePhoto,
    Category,
    HandlerRotation,
    WhistleCall,
    local_day,
)
from tongxin.cases.signals import case_closed, case_resolved
from tongxin.core import audit, notifications, pii, policy
from tongxin.core.memo import Memo, in_own_transaction
from tongxin.core.models import AuditLog, User
from tongxin.regions.choices import Role
from tongxin.regions.scoping import scope_for, user_ids_with_role

S = CaseState
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# --------------------------------------------------------------------------------------------------------------
# helpers


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _lock(case: Case | int) -> Case:
    pk = case if isinstance(case, int) else case.pk
    return Case.objects.select_for_update().get(pk=pk)


def case_link(case: Case) -> str:
    return f"/cases/{case.pk}/"


def _event(
    case: Case,
    event_type: str,
    actor: Any,
    *,
    from_state: str = "",
    to_state: str = "",
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
    count: bool = True,
) -> CaseEvent:
    """Append an event with the rollup dimensions of ``case`` as it is now, and count it (unless ``count``
    is False: the caller then calls :func:`rates.apply_event` itself)."""
    event = CaseEvent.objects.create(
        case=case,
        type=event_type,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        at=_now(at),
        from_state=from_state,
        to_state=to_state,
        payload=payload or {},
        cohort_day=local_day(case.submitted_at),
        channel=case.channel,
        community_ref=case.community_id or 0,
        grid_ref=case.grid_id or 0,
        category_ref=case.category_id or 0,
        handler_ref=case.assignee_id or 0,
        department_ref=case.department_id or 0,
    )
    if count:
        rates.apply_event(event)
    return event


def _first_response(case: Case, now: dt.datetime, fields: list[str], payload: dict[str, Any]) -> None:
    """Mark the first response (accept, reject, dispatch, claim ...) and whether it was in time."""
    if case.first_response_at is None:
        case.first_response_at = now
        fields.append("first_response_at")
        payload["first_response"] = True
        payload["response_in_time"] = case.respond_by is None or now <= case.respond_by


def _transition(
    case: Case,
    to_state: str,
    event_type: str,
    actor: Any,
    *,
    fields: Iterable[str] = (),
    payload: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    respond: bool = True,
) -> CaseEvent:
    """Check, set the state, save ``fields``, write the event and the audit record."""
    now = _now(now)
    from_state = case.state
    check_transition(from_state, to_state)
    payload = dict(payload or {})
    update = [*fields, "state", "updated_at"]
    if respond:
        _first_response(case, now, update, payload)
    case.state = to_state
    case.save(update_fields=sorted(set(update)))
    event = _event(case, event_type, actor, from_state=from_state, to_state=to_state, payload=payload, at=now)
    audit.record(
        AuditLog.Action.TRANSITION,
        case,
        actor=actor,
        field="state",
        before={"state": from_state},
        after={"state": to_state, "event": event_type},
    )
    return event


def handler_user_ids(case: Case) -> list[int]:
    """Who works the case now: the assignee, else the assigned company's staff or department's liaisons,
    else the grid's workers."""
    if case.assignee_id:
        return [case.assignee_id]
    if case.property_company_id:
        return user_ids_with_role(Role.PROPERTY_STAFF, property_company_id=case.property_company_id)
    if case.department_id:
        return user_ids_with_role(Role.DEPARTMENT_LIAISON, department_id=case.department_id)
    if case.grid_id:
        return user_ids_with_role(Role.GRID_WORKER, grid_id=case.grid_id)
    return []


def supervisor_user_ids(case: Case, *, include_subdistrict: bool = False) -> list[int]:
    ids = []
    if case.community_id:
        ids += user_ids_with_role(Role.COMMUNITY_STAFF, region_id=case.community_id)
    if include_subdistrict and case.subdistrict_id:
        ids += user_ids_with_role(Role.SUBDISTRICT_ADMIN, region_id=case.subdistrict_id)
    return ids


def reporter_user_ids(case: Case) -> list[int]:
    ids = []
    if case.submitted_by_id:
        ids.append(case.submitted_by_id)
    if case.reporter_id:
        from tongxin.people.models import Resident

        uid = Resident.objects.filter(pk=case.reporter_id).values_list("user_id", flat=True).first()
        if uid:
            ids.append(uid)
    return ids


def _notify(
    user_ids: Iterable[int], subject: str, body: str, case: Case, kind: str, *, fresh: bool = False
) -> None:
    notifications.notify(
        list(user_ids), subject, body, case_link(case), kind=kind, case=case.number, fresh=fresh
    )


def may_manage(case: Case, user: Any) -> bool:
    """Registry staff whose regions or grids hold the case (:func:`tongxin.cases.policy.manages`)."""
    from tongxin.cases.policy import manages

    return manages(user, case)


def may_handle(case: Case, user: Any) -> bool:
    """The handler, or the registry staff who manage the case (:func:`tongxin.cases.policy.handles`)."""
    from tongxin.cases.policy import handles

    return handles(user, case)


def _require(actor: Any, action: str, case: Case, *, label: str = "", state: bool = True) -> None:
    """The policy's answer for ``action`` on ``case`` (who), then the action's states (when): a
    :class:`CaseError` coded ``not_found`` (out of scope), ``forbidden`` (the rule's reason) or a
    :class:`TransitionError`. The same two checks decide whether the action's button is shown."""
    try:
        policy.require(actor, action, case)
    except policy.PolicyDenied as denied:
        if denied.decision is policy.Decision.FORBIDDEN:
            raise CaseError(denied.message, code="forbidden") from None
        if policy.can(actor, "cases.read", case):  # they see the case: say what they may not do
            raise CaseError(_("您无权%(a)s") % {"a": policy.rule(action).label}, code="forbidden") from None
        raise CaseError(_("工单不存在或不在您的权限范围内"), code="not_found") from None
    if state:
        check_action_state(action, case.state, label)


# --------------------------------------------------------------------------------------------------------------
# intake


def next_case_number(now: dt.datetime) -> str:
    """``YYYYMMDD`` + a sequence number.

    PostgreSQL: ``nextval`` of ``cases_case_number_seq`` (migration 0004), zero-padded to 7 digits. ``nextval``
    is not transactional, so no lock is held until commit and concurrent intakes never wait for each other;
    the price is that numbers are unique and increasing but not gap-free nor restarted each day.
    SQLite (single writer anyway): a per-day row counter, 5 digits, gap-free."""
    day = local_day(now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT nextval('cases_case_number_seq')")
            seq = cur.fetchone()[0]
        return f"{day:%Y%m%d}{seq:07d}"
    if not CaseCounter.objects.filter(day=day).update(last=F("last") + 1):
        try:
            with transaction.atomic():
                CaseCounter.objects.create(day=day, last=1)
        except IntegrityError:
            CaseCounter.objects.filter(day=day).update(last=F("last") + 1)
    last = CaseCounter.objects.filter(day=day).values_list("last", flat=True).get()
    return f"{day:%Y%m%d}{last:05d}"


def _receipt_code() -> str:
    """10 random characters of 32 (~10^15 codes): unique in practice; the unique index has the last word and
    :func:`submit` draws again on the (never seen) collision, so intake does not ask first (issue 15)."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))


# ("pk", id) / ("code", service code) -> the active category with its deadline policy and default department;
# forgotten when a category, deadline policy or department is saved or deleted (cases/apps.py)
CATEGORIES = Memo("cases-categories", ttl=60.0)


def _active_category(**lookup: Any) -> Category | None:
    return (
        Category.objects.select_related("policy", "default_department").filter(active=True, **lookup).first()
    )


def resolve_category(category: Any) -> Category:
    """The active category named by pk or service code (memoised per process; each caller gets its own copy)."""
    if isinstance(category, Category):
        return category
    found = None
    if isinstance(category, int) or (isinstance(category, str) and category.isdigit()):
        pk = int(category)
        found = CATEGORIES.get(("pk", pk), lambda: _active_category(pk=pk), copy=True)
    if found is None and isinstance(category, str) and category:
        code = category
        found = CATEGORIES.get(("code", code), lambda: _active_category(service_code=code), copy=True)
    if found is None:
        raise CaseError(_("未知的诉求类别：%(c)s") % {"c": category}, code="unknown_category")
    return found


def point_in_polygon(lon: float, lat: float, polygon: Any) -> bool:
    """Ray casting over a GeoJSON Polygon/MultiPolygon (outer rings minus holes)."""
    if not polygon:
        return False
    geometry = polygon.get("geometry", polygon) if isinstance(polygon, dict) else polygon
    if isinstance(geometry, dict) and geometry.get("type") == "FeatureCollection":
        return any(point_in_polygon(lon, lat, f) for f in geometry.get("features", []))
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if not coords:
        return False
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []

    def in_ring(ring: Sequence[Sequence[float]]) -> bool:
        inside = False
        n = len(ring)
        for i in range(n):
            x1, y1 = ring[i][0], ring[i][1]
            x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
            if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / ((y2 - y1) or 1e-300) + x1:
                inside = not inside
        return inside

    return any(rings and in_ring(rings[0]) and not any(in_ring(h) for h in rings[1:]) for rings in polygons)


def grid_at(latitude: float, longitude: float) -> Any:
    """The grid whose GeoJSON polygon contains the point, or None."""
    from tongxin.regions.models import Grid

    for grid in (
        Grid.objects.exclude(polygon__isnull=True)
        .select_related("community")
        .only("id", "polygon", "community_id", "community__parent_id")
    ):
        if point_in_polygon(longitude, latitude, grid.polygon):
            return grid
    return None


def _place(
    case: Case, *, dwelling: Any = None, building: Any = None, estate: Any = None, grid: Any = None
) -> bool:
    """Fill the denormalised location fields from the most precise place given."""
    from tongxin.regions.models import Region

    if dwelling is not None:
        for f in ("entrance_id", "building_id", "estate_id", "community_id", "subdistrict_id", "grid_id"):
            setattr(case, f, getattr(dwelling, f))
        case.dwelling = dwelling
        return True
    if building is not None:
        if building.kind == Region.Kind.ENTRANCE:
            case.entrance_id = building.pk
            building = building.parent
        ids = building.place_ids()
        case.subdistrict_id, case.community_id, case.estate_id = ids[0], ids[1], ids[2]
        case.building_id = building.pk
        case.grid_id = building.grid_id
        return True
    if estate is not None:
        ids = estate.place_ids()
        case.subdistrict_id, case.community_id, case.estate_id = ids[0], ids[1], estate.pk
        grids = list(
            Region.objects.filter(parent=estate, kind=Region.Kind.BUILDING)
            .values_list("grid_id", flat=True)
            .distinct()[:2]
        )
        if len(grids) == 1:  # an estate inside one grid: the grid is known
            case.grid_id = grids[0]
        return True
    if grid is not None:
        case.grid_id = grid.pk
        case.community_id = grid.community_id
        case.subdistrict_id = grid.community.parent_id
        return True
    return False


def find_resident_by_phone(phone: str) -> Any:
    """The hotline operator's lookup: a resident by exact phone number (keyed hash), or None."""
    from tongxin.people.models import Resident

    try:
        normalised = pii.normalise_phone(phone)
    except pii.PIIError:
        return None
    return Resident.objects.filter(phone_hash=pii.lookup_hash(normalised)).select_related("dwelling").first()


def _intake_limit(channel: str, actor: Any) -> None:
    """``CASES_INTAKE_PER_HOUR`` new cases per user (or, anonymous, per client address) for residents and the
    public, whatever channel they name; staff entering calls and visits, and the system itself, are not limited."""
    from tongxin.core.middleware import client_ip, current_request
    from tongxin.core.throttle import Limit

    request = current_request.get()
    if getattr(actor, "is_authenticated", False):
        if policy.holds(actor, "cases.submit_unlimited"):  # staff and the administrator
            return
        who = f"user:{actor.pk}"
    elif request is None:
        return  # the system itself (a sensor alert, a scheduled job, an import): no client to limit
    else:
        who = f"ip:{client_ip(request) or '-'}"
    limit = Limit("cases-intake", settings.CASES_INTAKE_PER_HOUR, 3600)
    if limit.hit(who) > limit.limit:
        raise CaseError(_("提交过于频繁，请一小时后再试"), code="rate_limited")


def submit(
    *,
    channel: str,
    category: Any,
    description: str,
    actor: Any = None,
    reporter: Any = None,
    anonymous: bool = False,
    contact_name: str = "",
    contact_phone: str = "",
    dwelling: Any = None,
    building: Any = None,
    estate: Any = None,
    community: Any = None,
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    title: str = "",
    attributes: dict[str, Any] | None = None,
    photos: Sequence[Any] = (),
    idempotency_key: str = "",
    idempotency_client: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """Intake for every channel. Returns the new case, or the existing one for a repeated Idempotency-Key.

    The location is resolved from the most precise input: dwelling → building/entrance → estate → address text
    (:func:`tongxin.regions.address.resolve_address`) → latitude/longitude (grid polygon) → the reporter's
    dwelling → ``community`` (a community's own suggestion box). A location that resolves nowhere is an error, except for the suggestion box.

    What every intake reads and seldom changes (the category, the estates an address is matched against) is read
    before the transaction, so each process can keep it (:mod:`tongxin.core.memo`). Called outside a transaction,
    the case is inserted without asking first whether its Idempotency-Key was used (the unique index answers: a
    repeated key, or the never seen receipt-code collision, rolls the attempt back whole and the intake runs again,
    asking first). Inside a caller's transaction it asks first and inserts under a savepoint.
    """
    now = _now(now)
    if channel not in Channel.values:
        raise CaseError(_("未知的受理渠道：%(c)s") % {"c": channel}, code="unknown_channel")
    cat = resolve_category(category)
    found = None
    if address and dwelling is None and building is None and estate is None:
        from tongxin.regions.address import resolve_address

        found = resolve_address(address)
    args = dict(
        channel=channel,
        cat=cat,
        description=description,
        actor=actor,
        reporter=reporter,
        anonymous=anonymous,
        contact_name=contact_name,
        contact_phone=contact_phone,
        dwelling=dwelling,
        building=building,
        estate=estate,
        community=community,
        address=address,
        found=found,
        latitude=latitude,
        longitude=longitude,
        title=title,
        attributes=attributes,
        photos=photos,
        idempotency_key=idempotency_key,
        idempotency_client=idempotency_client,
        now=now,
    )
    if not in_own_transaction():
        try:
            with transaction.atomic():
                return _submit(ask_first=False, **args)
        except IntegrityError:
            pass  # the key was used (a retry raced its first attempt) or the receipt code was drawn twice
    with transaction.atomic():
        return _submit(ask_first=True, **args)


def _existing(channel: str, client: str, key: str) -> Case | None:
    return Case.objects.filter(channel=channel, idempotency_client=client, idempotency_key=key).first()


def _submit(
    *,
    ask_first: bool,
    channel: str,
    cat: Category,
    description: str,
    actor: Any,
    reporter: Any,
    anonymous: bool,
    contact_name: str,
    contact_phone: str,
    dwelling: Any,
    building: Any,
    estate: Any,
    community: Any,
    address: str,
    found: Any,
    latitude: float | None,
    longitude: float | None,
    title: str,
    attributes: dict[str, Any] | None,
    photos: Sequence[Any],
    idempotency_key: str,
    idempotency_client: str,
    now: dt.datetime,
) -> Case:
    """:func:`submit` inside its transaction. ``ask_first``: look the Idempotency-Key up before inserting, and
    insert under a savepoint (a collision is then answered here); otherwise the caller's retry does that."""
    key = (idempotency_key or "").strip()[:128]
    client = (idempotency_client or (str(actor.pk) if getattr(actor, "pk", None) else ""))[:64]
    if key and ask_first:
        existing = _existing(channel, client, key)
        if existing is not None:
            return existing
    try:
        _intake_limit(channel, actor)
    except CaseError:
        existing = _existing(channel, client, key) if key and not ask_first else None
        if existing is not None:  # a retry of a case already taken is answered with it, limit or not
            return existing
        raise
    text = (description or "").strip()
    if not text:
        raise CaseError(_("请填写诉求内容"), code="empty_description")
    if len(text) > DESCRIPTION_MAX:
        raise CaseError(
            _("诉求内容不能超过%(max)d字，当前%(n)d字") % {"max": DESCRIPTION_MAX, "n": len(text)},
            code="description_too_long",
        )
    if attributes:
        _check_attributes(cat, attributes)
    elif any(a.get("required") for a in cat.attributes or []):
        _check_attributes(cat, {})

    case = Case(
        channel=channel,
        category=cat,
        title=(title or text[:30])[:100],
        description=text,
        attributes=attributes or {},
        reporter=None if anonymous else reporter,
        submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
        anonymous=anonymous,
        contact_name="" if anonymous else contact_name[:50],
        address=address[:200],
        latitude=latitude,
        longitude=longitude,
        submitted_at=now,
        idempotency_client=client if key else "",
        idempotency_key=key,
    )
    if contact_phone and not anonymous:
        try:
            from tongxin.people.pii import set_phone

            set_phone(case, contact_phone, prefix="contact_phone")
        except pii.PIIError as exc:
            raise CaseError(str(exc), code="bad_phone") from None
        if case.reporter is None and channel == Channel.HOTLINE:
            case.reporter = find_resident_by_phone(contact_phone)

    placed = _place(case, dwelling=dwelling, building=building, estate=estate)
    if not placed and found is not None:
        placed = _place(
            case, dwelling=found.dwelling, building=found.entrance or found.building, estate=found.estate
        )
    if not placed and latitude is not None and longitude is not None:
        placed = _place(case, grid=grid_at(latitude, longitude))
    if not placed and case.reporter is not None and case.reporter.dwelling_id:
        placed = _place(case, dwelling=case.reporter.dwelling)
    if not placed and community is not None:  # e.g. a community's own suggestion box
        case.community_id, case.subdistrict_id = community.pk, community.parent_id
        placed = True
    if not placed and channel != Channel.SUGGESTION_BOX:
        raise CaseError(
            _("无法确定诉求发生的位置，请填写房屋、楼栋、小区或可识别的地址"), code="unknown_location"
        )

    deadlines = sla.compute(cat.policy, now)
    for f, v in deadlines.as_fields().items():
        setattr(case, f, v)
    case.receipt_code = _receipt_code()
    # PostgreSQL: the number comes from a sequence (no lock), so take it now and save it with the row.
    # SQLite: placeholder until the day's counter row is taken, last (see below).
    sequenced = connection.vendor == "postgresql"
    case.number = next_case_number(now) if sequenced else f"T{case.receipt_code}"
    if not ask_first:
        case.save()  # a unique-index collision rolls this attempt back; submit() runs again, asking first
    else:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    case.save()
                break
            except IntegrityError:
                case.pk = None
                if key:
                    existing = _existing(channel, client, key)
                    if existing is not None:
                        return existing
                if attempt == 2 or not Case.objects.filter(receipt_code=case.receipt_code).exists():
                    raise
                case.receipt_code = _receipt_code()  # the one collision in ~10^15: draw again
    for photo in photos:
        CasePhoto.objects.create(case=case, file=photo, uploaded_by=case.submitted_by, uploaded_at=now)
    event = _event(
        case,
        EventType.SUBMITTED,
        actor,
        to_state=S.SUBMITTED,
        payload={"channel": channel},
        at=now,
        count=False,
    )
    if not sequenced:  # the day's counter row is shared by concurrent intakes: touch it last
        case.number = next_case_number(now)
        Case.objects.filter(pk=case.pk).update(number=case.number)
    rates.apply_event(event)  # an INSERT of delta rows: nothing shared with other intakes
    audit.record(AuditLog.Action.CREATE, case, actor=actor, after={"number": case.number, "channel": channel})
    _auto_route(case, now)  # the category's default property company / department, when it has one here
    recipients = user_ids_with_role(Role.GRID_WORKER, grid_id=case.grid_id) if case.grid_id else []
    if not recipients:
        recipients = supervisor_user_ids(case)
    # A new case's first message: its inbox rows are written in this transaction (no earlier emission to ask
    # about), the other channels go out on commit.
    notifications.notify(
        recipients,
        _("新诉求 %(n)s：%(t)s") % {"n": case.number, "t": case.title},
        text[:200],
        case_link(case),
        kind="case_new",
        fresh=True,
        case=case.number,
    )
    return case


def _check_attributes(category: Category, values: dict[str, Any]) -> None:
    """Open311 service-definition attributes: required ones present, singlevaluelist values known."""
    for attr in category.attributes or []:
        code = attr.get("code")
        value = values.get(code)
        if attr.get("required") and value in (None, "", []):
            raise CaseError(
                _("缺少必填项：%(a)s") % {"a": attr.get("description") or code}, code="missing_attribute"
            )
        allowed = {str(v.get("key")) for v in attr.get("values") or []}
        if value not in (None, "") and allowed:
            given = value if isinstance(value, list) else [value]
            if any(str(v) not in allowed for v in given):
                raise CaseError(_("属性%(a)s的取值无效") % {"a": code}, code="bad_attribute")


# --------------------------------------------------------------------------------------------------------------
# accept, reject, dispatch, claim, round-robin


@transaction.atomic
def accept(case: Case | int, actor: Any, *, now: dt.datetime | None = None) -> Case:
    """受理. Staff whose scope covers the case."""
    case = _lock(case)
    _require(actor, "cases.accept", case, label=_("受理"))
    now = _now(now)
    case.accepted_at = now
    _transition(case, S.ACCEPTED, EventType.ACCEPTED, actor, fields=["accepted_at"], now=now)
    return case


@transaction.atomic
def reject(case: Case | int, actor: Any, reason: str, *, now: dt.datetime | None = None) -> Case:
    """不予受理, with a reason the reporter sees."""
    case = _lock(case)
    _require(actor, "cases.reject", case, label=_("不予受理"))
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(_("请填写不予受理的原因"), code="reason_required")
    case.state_reason = reason[:500]
    case.closed_at = _now(now)
    _transition(
        case,
        S.REJECTED,
        EventType.REJECTED,
        actor,
        fields=["state_reason", "closed_at"],
        payload={"reason": reason},
        now=now,
    )
    _notify(
        reporter_user_ids(case),
        _("您的诉求 %(n)s 未予受理") % {"n": case.number},
        reason,
        case,
        "case_rejected",
    )
    return case


def _assign_fields(
    case: Case,
    *,
    assignee: Any = None,
    team_kind: str = "",
    property_company: Any = None,
    department: Any = None,
    served: bool = False,
) -> list[str]:
    """``served``: the caller took ``property_company`` from the companies serving the case's estate."""
    if assignee is None and property_company is None and department is None and not team_kind:
        raise CaseError(_("请选择承办人、物业公司或部门"), code="no_target")
    if team_kind and team_kind not in HandlerKind.values:
        raise CaseError(_("未知的承办方类型"), code="bad_team_kind")
    if assignee is not None and not _may_receive(case, assignee):
        raise CaseError(_("承办人不在本案件所属区域，不能派给他"), code="assignee_out_of_scope")
    if (
        property_company is not None
        and case.estate_id
        and not served
        and not property_company.estates.filter(pk=case.estate_id).exists()
    ):
        raise CaseError(_("该物业公司不服务本案件所在小区"), code="company_out_of_scope")
    if department is not None and case.subdistrict_id and department.subdistrict_id != case.subdistrict_id:
        raise CaseError(_("该部门不属于本街道"), code="department_out_of_scope")
    case.assignee = assignee
    case.property_company = property_company
    case.department = department
    case.team_kind = team_kind or (
        HandlerKind.PROPERTY_COMPANY
        if property_company
        else HandlerKind.DEPARTMENT
        if department
        else case.team_kind
    )
    return ["assignee", "property_company", "department", "team_kind"]


def _may_receive(case: Case, user: Any) -> bool:
    """A case goes only to someone who works where it is: staff whose scope covers it, property staff or a
    department liaison of the subdistrict, or a member/volunteer who lives in the case's community."""
    if not getattr(user, "is_active", False):
        return False
    scope = scope_for(user)
    if scope.covers(case):
        return True
    if scope.property_company_ids and case.estate_id in scope.estate_ids:
        return True
    if scope.department_ids and case.subdistrict_id:
        from tongxin.regions.models import Department

        return Department.objects.filter(
            pk__in=scope.department_ids, subdistrict_id=case.subdistrict_id
        ).exists()
    from tongxin.people.models import Resident

    community_id = Resident.objects.filter(user=user).values_list("dwelling__community_id", flat=True).first()
    return community_id is not None and community_id == case.community_id


def _target_payload(case: Case) -> dict[str, Any]:
    return {
        "assignee": case.assignee_id,
        "property_company": case.property_company_id,
        "department": case.department_id,
        "team_kind": case.team_kind,
    }


@transaction.atomic
def dispatch(
    case: Case | int,
    actor: Any,
    *,
    assignee: Any = None,
    team_kind: str = "",
    property_company: Any = None,
    department: Any = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """派单 to a person, a team kind, a property company or a department. From submitted it also accepts."""
    case = _lock(case)
    _require(actor, "cases.dispatch", case, label=_("派单"))
    return _dispatch_locked(
        case,
        actor,
        EventType.DISPATCHED,
        assignee=assignee,
        team_kind=team_kind,
        property_company=property_company,
        department=department,
        note=note,
        now=now,
    )


def _dispatch_locked(
    case: Case,
    actor: Any,
    event_type: str,
    *,
    note: str = "",
    now: dt.datetime | None = None,
    routed: bool = False,
    **target: Any,
) -> Case:
    """``routed``: :func:`_auto_route` dispatching a case submitted in this transaction (its target was chosen
    among the units serving the place, and the message is the case's first of its kind)."""
    now = _now(now)
    fields = _assign_fields(case, served=routed, **target)
    if case.accepted_at is None:
        case.accepted_at = now
        fields.append("accepted_at")
    case.dispatched_at = now
    fields.append("dispatched_at")
    payload = {**_target_payload(case), "note": note}
    _transition(case, S.DISPATCHED, event_type, actor, fields=fields, payload=payload, now=now)
    _notify(
        handler_user_ids(case),
        _("新工单 %(n)s：%(t)s") % {"n": case.number, "t": case.title},
        note or case.description[:200],
        case,
        "case_dispatched",
        fresh=routed,
    )
    return case


@transaction.atomic
def transfer(
    case: Case | int,
    actor: Any,
    *,
    reason: str = "",
    assignee: Any = None,
    team_kind: str = "",
    property_company: Any = None,
    department: Any = None,
    now: dt.datetime | None = None,
) -> Case:
    """转单: hand a dispatched/in-progress case to another handler."""
    case = _lock(case)
    _require(actor, "cases.transfer", case, label=_("转单"))
    before = _target_payload(case)
    _dispatch_locked(
        case,
        actor,
        EventType.TRANSFERRED,
        assignee=assignee,
        team_kind=team_kind,
        property_company=property_company,
        department=department,
        note=reason,
        now=now,
    )
    audit.record(
        AuditLog.Action.UPDATE, case, actor=actor, field="handler", before=before, after=_target_payload(case)
    )
    return case


def eligible_claimer_ids(case: Case) -> list[int]:
    """Users who may claim: party members and volunteers living in the case's grid whose service post or
    skills match the category (any member of the grid when the category names no post or skill)."""
    from tongxin.people.models import Resident

    if not case.grid_id:
        return []
    cat = case.category
    qs = Resident.objects.filter(dwelling__grid_id=case.grid_id, user__isnull=False, status="active")
    members = Q(party_member__active=True) | Q(user__roles__role=Role.VOLUNTEER)
    match = Q()
    posts = list(cat.claim_post_codes or [])
    skills = [s for s in (cat.claim_skills or []) if s]
    if posts or skills:
        match = Q(pk__in=[])
        if posts:
            match |= Q(party_member__service_post__code__in=posts)
        for skill in skills:
            match |= Q(skills__icontains=skill)
    return sorted(set(qs.filter(members).filter(match).values_list("user_id", flat=True)))


@transaction.atomic
def open_for_claiming(
    case: Case | int, actor: Any, *, note: str = "", now: dt.datetime | None = None
) -> Case:
    """党员接单: publish the case to the grid's members and volunteers whose post or skills match."""
    case = _lock(case)
    _require(actor, "cases.open_for_claiming", case, label=_("发布认领"))
    if not case.grid_id:
        raise CaseError(_("工单没有所属网格，不能发布认领"), code="no_grid")
    now = _now(now)
    case.assignee = None
    case.team_kind = HandlerKind.VOLUNTEERS
    fields = ["assignee", "team_kind"]
    if case.accepted_at is None:
        case.accepted_at = now
        fields.append("accepted_at")
    _transition(
        case,
        S.OPEN_FOR_CLAIMING,
        EventType.OPENED_FOR_CLAIMING,
        actor,
        fields=fields,
        payload={"note": note},
        now=now,
    )
    _notify(
        eligible_claimer_ids(case),
        _("有新的工单可以认领：%(t)s") % {"t": case.title},
        note or case.description[:200],
        case,
        "case_claimable",
    )
    return case


@transaction.atomic
def claim(case: Case | int, user: Any, *, now: dt.datetime | None = None) -> Case:
    """认领. Atomic: a conditional UPDATE ... WHERE state='open_for_claiming' AND assignee IS NULL; of two
    concurrent claims exactly one wins, the other gets a :class:`CaseError`."""
    pk = case if isinstance(case, int) else case.pk
    current = Case.objects.select_related("category").get(pk=pk)
    try:
        _require(user, "cases.claim", current, state=False)  # the state is decided by the conditional UPDATE
    except CaseError as refused:
        if current.assignee_id and getattr(user, "pk", None) in eligible_claimer_ids(current):
            raise CaseError(_("该工单已被他人认领"), code="already_claimed") from None
        raise refused from None
    now = _now(now)
    won = Case.objects.filter(pk=pk, state=S.OPEN_FOR_CLAIMING, assignee__isnull=True).update(
        assignee=user, state=S.DISPATCHED, dispatched_at=now, updated_at=now
    )
    if not won:
        state = Case.objects.filter(pk=pk).values_list("state", flat=True).get()
        if state == S.OPEN_FOR_CLAIMING or state in (S.DISPATCHED, S.IN_PROGRESS):
            raise CaseError(_("该工单已被他人认领"), code="already_claimed")
        raise TransitionError(_("该工单当前不可认领"))
    case = _lock(pk)
    payload: dict[str, Any] = {"assignee": user.pk}
    fields: list[str] = []
    _first_response(case, now, fields, payload)
    if fields:
        case.save(update_fields=fields)
    _event(
        case,
        EventType.CLAIMED,
        user,
        from_state=S.OPEN_FOR_CLAIMING,
        to_state=S.DISPATCHED,
        payload=payload,
        at=now,
    )
    audit.record(
        AuditLog.Action.TRANSITION,
        case,
        actor=user,
        field="state",
        after={"state": S.DISPATCHED, "event": "claimed"},
    )
    _notify(
        supervisor_user_ids(case),
        _("工单 %(n)s 已被认领") % {"n": case.number},
        str(user),
        case,
        "case_claimed",
    )
    return case


def on_duty_handlers(category: Category, grid: Any) -> list[User]:
    """``settings.CASES_ON_DUTY_PROVIDER(category, grid)`` when set, else the category's handler list."""
    path = getattr(settings, "CASES_ON_DUTY_PROVIDER", "")
    if path:
        return list(import_string(path)(category, grid))
    return list(category.handlers.filter(is_active=True).order_by("id"))


@transaction.atomic
def round_robin(case: Case | int, actor: Any, *, now: dt.datetime | None = None) -> Case:
    """轮派: dispatch to the on-duty handler who least recently got a case of this category (persistent)."""
    case = _lock(case)
    _require(actor, "cases.dispatch", case, label=_("派单"))
    now = _now(now)
    # only people who work where the case is: never another community's grid workers
    candidates = [u for u in on_duty_handlers(case.category, case.grid) if _may_receive(case, u)]
    if not candidates:
        raise CaseError(_("本社区该类别当前没有值班的承办人"), code="no_handler")
    for u in candidates:
        HandlerRotation.objects.get_or_create(category_id=case.category_id, user=u)
    rows = list(
        HandlerRotation.objects.select_for_update()
        .filter(category_id=case.category_id, user__in=candidates)
        .order_by(F("last_assigned_at").asc(nulls_first=True), "user_id")
    )
    chosen = rows[0]
    chosen.last_assigned_at = now
    chosen.assigned_count += 1
    chosen.save(update_fields=["last_assigned_at", "assigned_count"])
    user = next(u for u in candidates if u.pk == chosen.user_id)
    return _dispatch_locked(case, actor, EventType.DISPATCHED, assignee=user, note="round_robin", now=now)


# --------------------------------------------------------------------------------------------------------------
# working the case


@transaction.atomic
def start(case: Case | int, actor: Any, *, now: dt.datetime | None = None) -> Case:
    """开始办理."""
    case = _lock(case)
    _require(actor, "cases.start", case, label=_("开始办理"))
    _transition(case, S.IN_PROGRESS, EventType.STARTED, actor, now=now)
    return case


@transaction.atomic
def mark_on_site(
    case: Case | int,
    actor: Any,
    *,
    now: dt.datetime | None = None,
    at: dt.datetime | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Case:
    """到达现场 (the 1715 rule's 10 minutes). No state change; a dispatched case moves to in progress. ``at``: when
    the handler arrived, if they record it afterwards (not in the future, not before the case was submitted);
    ``latitude``/``longitude``: where the phone was, kept in the event."""
    case = _lock(case)
    _require(actor, "cases.on_site", case, label=_("登记到场"))
    now = _now(now)
    if at is not None:
        if at > now or at < case.submitted_at:
            raise CaseError(_("到场时间应在提交之后、现在之前"), code="bad_time")
        now = at
    case.on_site_at = case.on_site_at or now
    payload: dict[str, Any] = {"on_site_in_time": case.on_site_by is None or now <= case.on_site_by}
    if latitude is not None and longitude is not None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise CaseError(_("位置无效"), code="bad_location")
        payload["location"] = [round(latitude, 6), round(longitude, 6)]
    if case.state in (S.DISPATCHED, S.REOPENED):
        _transition(
            case, S.IN_PROGRESS, EventType.ON_SITE, actor, fields=["on_site_at"], payload=payload, now=now
        )
    else:
        case.save(update_fields=["on_site_at", "updated_at"])
        _event(case, EventType.ON_SITE, actor, payload=payload, at=now)
    return case


@transaction.atomic
def record_plan(case: Case | int, actor: Any, plan: str, *, now: dt.datetime | None = None) -> Case:
    """形成方案 for complex problems (due by ``plan_by``)."""
    case = _lock(case)
    _require(actor, "cases.plan", case, label=_("登记方案"))
    plan = (plan or "").strip()
    if not plan:
        raise CaseError(_("请填写解决方案"), code="plan_required")
    now = _now(now)
    case.plan, case.plan_at = plan[:4000], now
    case.save(update_fields=["plan", "plan_at", "updated_at"])
    _event(
        case,
        EventType.PLAN_RECORDED,
        actor,
        payload={"plan_in_time": case.plan_by is None or now <= case.plan_by},
        at=now,
    )
    return case


@transaction.atomic
def return_case(case: Case | int, actor: Any, reason: str, *, now: dt.datetime | None = None) -> Case:
    """退单: the handler gives the case back with a reason; the dispatcher is told. A whistled department that
    is not the case's handler returns only its own call (:func:`department_return`)."""
    case = _lock(case)
    _require(actor, "cases.return", case, label=_("退单"))
    if not _on_team(case, actor) and is_reported_in(case, actor):
        return _department_return_locked(case, actor, reason, now=now)
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(_("请填写退单原因"), code="reason_required")
    previous = _target_payload(case)
    case.assignee = None
    case.property_company = None
    case.department = None
    case.state_reason = reason[:500]
    _transition(
        case,
        S.RETURNED,
        EventType.RETURNED,
        actor,
        fields=["assignee", "property_company", "department", "state_reason"],
        payload={"reason": reason, "previous": previous},
        now=now,
    )
    _notify(
        supervisor_user_ids(case), _("工单 %(n)s 被退回") % {"n": case.number}, reason, case, "case_returned"
    )
    return case


# --------------------------------------------------------------------------------------------------------------
# whistle and report-in (吹哨报到)


@transaction.atomic
def whistle(
    case: Case | int,
    actor: Any,
    departments: Sequence[Any],
    *,
    note: str = "",
    now: dt.datetime | None = None,
) -> list[WhistleCall]:
    """街道吹哨: call one or more departments; each must report in within ``CASES_REPORT_IN_MINUTES`` (30)."""
    case = _lock(case)
    _require(actor, "cases.whistle", case, label=_("吹哨"))
    if not departments:
        raise CaseError(_("请选择要吹哨的部门"), code="no_department")
    now = _now(now)
    minutes = int(getattr(settings, "CASES_REPORT_IN_MINUTES", 30))
    existing = set(WhistleCall.objects.filter(case=case).values_list("department_id", flat=True))
    calls = [
        WhistleCall.objects.create(
            case=case,
            department=d,
            whistled_by=actor,
            whistled_at=now,
            note=note[:500],
            report_by=now + dt.timedelta(minutes=minutes),
        )
        for d in departments
        if d.pk not in existing
    ]
    if not calls:
        raise CaseError(_("所选部门已被吹哨"), code="already_whistled")
    payload = {"departments": [c.department_id for c in calls], "note": note}
    if case.state == S.WHISTLED:
        _event(case, EventType.WHISTLED, actor, payload=payload, at=now)
    else:
        _transition(case, S.WHISTLED, EventType.WHISTLED, actor, payload=payload, now=now)
    for c in calls:
        _notify(
            user_ids_with_role(Role.DEPARTMENT_LIAISON, department_id=c.department_id),
            _("街道吹哨：请于%(t)s前报到（工单 %(n)s）")
            % {"t": timezone.localtime(c.report_by).strftime("%H:%M"), "n": case.number},
            note or case.description[:200],
            case,
            "case_whistled",
        )
    return calls


@transaction.atomic
def report_in(
    call: WhistleCall | int, actor: Any, *, note: str = "", now: dt.datetime | None = None
) -> WhistleCall:
    """部门报到: a liaison of the whistled department reports in (late after ``report_by``)."""
    pk = call if isinstance(call, int) else call.pk
    call = WhistleCall.objects.select_for_update().select_related("case").get(pk=pk)
    _require(actor, "cases.report_in", call.case, label=_("报到"), state=False)
    scope = scope_for(actor)
    if not (scope.everything or call.department_id in scope.department_ids):
        raise CaseError(_("您不是该部门的联络员"), code="forbidden")
    if call.reported_at is not None:
        raise CaseError(_("该部门已报到"), code="already_reported")
    case = _lock(call.case_id)
    if case.state not in OPEN_STATES:
        raise TransitionError(_("工单已办结，无需报到"))
    now = _now(now)
    call.reported_at, call.reported_by, call.report_note = now, actor, note[:500]
    call.late = bool(call.late) or now > call.report_by  # already marked late by the sweep: it stays late
    call.save(update_fields=["reported_at", "reported_by", "report_note", "late"])
    payload = {"department": call.department_id, "late": call.late, "call": call.pk}
    if case.state == S.WHISTLED:
        _transition(
            case, S.IN_PROGRESS, EventType.REPORTED_IN, actor, payload=payload, now=now, respond=False
        )
    else:
        _event(case, EventType.REPORTED_IN, actor, payload=payload, at=now)
    return call


@transaction.atomic
def rate_department(
    call: WhistleCall | int, actor: Any, rating: int, comment: str = "", *, now: dt.datetime | None = None
) -> WhistleCall:
    """The subdistrict rates a department's response, 1–5."""
    pk = call if isinstance(call, int) else call.pk
    call = WhistleCall.objects.select_for_update().select_related("case").get(pk=pk)
    _require(actor, "cases.rate_department", call.case)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise CaseError(_("评分应为1到5"), code="bad_rating")
    now = _now(now)
    call.rating, call.rating_comment, call.rated_by, call.rated_at = rating, comment[:300], actor, now
    call.save(update_fields=["rating", "rating_comment", "rated_by", "rated_at"])
    _event(
        call.case,
        EventType.DEPARTMENT_RATED,
        actor,
        payload={"department": call.department_id, "rating": rating},
        at=now,
    )
    return call


# --------------------------------------------------------------------------------------------------------------
# resolution and feedback


@transaction.atomic
def resolve(case: Case | int, actor: Any, result: str, *, now: dt.datetime | None = None) -> Case:
    """办结 with a result text. Whistled departments are released; reporters (and merged duplicates'
    reporters) are told the outcome; ``case_resolved`` is sent on commit."""
    case = _lock(case)
    _require(actor, "cases.resolve", case, label=_("办结"))
    result = (result or "").strip()
    if not result:
        raise CaseError(_("请填写办理结果"), code="result_required")
    now = _now(now)
    case.result, case.resolved_at = result[:4000], now
    case.due_soon = False
    in_time = case.resolve_by is None or now <= case.resolve_by
    _transition(
        case,
        S.RESOLVED,
        EventType.RESOLVED,
        actor,
        fields=["result", "resolved_at", "due_soon"],
        payload={"resolve_in_time": in_time, "result": result[:500]},
        now=now,
    )
    WhistleCall.objects.filter(case=case, active=True).update(active=False, released_at=now)
    subject = _("您反映的问题已办结（%(n)s）") % {"n": case.number}
    _notify(reporter_user_ids(case), subject, result[:300], case, "case_resolved")
    for dup in Case.objects.filter(merged_into=case):
        _notify(reporter_user_ids(dup), subject, result[:300], dup, "case_resolved")
    transaction.on_commit(lambda: case_resolved.send(sender=Case, case=case, actor=actor))
    return case


def _require_reporter(case: Case, actor: Any, receipt_code: str, label: str) -> str:
    """Satisfaction is the resident's: the reporter (``cases.rate``), or whoever holds the case's receipt code —
    except the staff who handle or manage the case (their word is recorded as a follow-up call, by a colleague).
    Returns how the rating is obtained (:class:`RatingSource`): the reporter's account or the receipt code."""
    from tongxin.cases.policy import handles, is_reporter

    if is_reporter(actor, case):
        _require(actor, "cases.rate", case, label=label)
        return RatingSource.ONLINE
    if receipt_code and secrets.compare_digest(
        receipt_code.strip().upper().encode(), case.receipt_code.encode()
    ):
        if getattr(actor, "is_authenticated", False) and handles(actor, case):
            raise CaseError(_("承办和管辖的工作人员不能代反映人评价"), code="forbidden")
        check_action_state("cases.rate", case.state, label)
        return RatingSource.RECEIPT_CODE
    if not getattr(actor, "is_authenticated", False):
        raise CaseError(_("只有反映人可以评价"), code="forbidden")
    _require(actor, "cases.rate", case, label=label)
    return RatingSource.ONLINE


def _parse_rating(rating: str) -> str:
    if rating not in Rating.values:
        raise CaseError(_("评价应为：满意、基本满意或不满意"), code="bad_rating")
    return rating


@transaction.atomic
def confirm_and_rate(
    case: Case | int,
    actor: Any,
    rating: str,
    comment: str = "",
    *,
    receipt_code: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """The reporter confirms and rates (满意 / 基本满意 / 不满意) → closed. Anonymous reporters use the receipt code."""
    case = _lock(case)
    source = _require_reporter(case, actor, receipt_code, _("评价"))
    rating = _parse_rating(rating)
    now = _now(now)
    check_transition(case.state, S.CLOSED)
    case.rating, case.rating_source, case.rating_comment, case.rated_at = (
        rating,
        source,
        comment[:500],
        now,
    )
    case.save(update_fields=["rating", "rating_source", "rating_comment", "rated_at", "updated_at"])
    _event(
        case,
        EventType.RATED,
        actor,
        payload={"rating": rating, "comment": comment[:500], "source": str(source)},
        at=now,
    )
    return _close_locked(case, actor, now=now)


def _close_locked(case: Case, actor: Any, *, note: str = "", now: dt.datetime | None = None) -> Case:
    now = _now(now)
    case.closed_at = now
    _transition(
        case, S.CLOSED, EventType.CLOSED, actor, fields=["closed_at"], payload={"note": note}, now=now
    )
    transaction.on_commit(lambda: case_closed.send(sender=Case, case=case, actor=actor))
    return case


@transaction.atomic
def close(case: Case | int, actor: Any, *, note: str = "", now: dt.datetime | None = None) -> Case:
    """结案 without an online rating (e.g. no feedback after the waiting period)."""
    case = _lock(case)
    _require(actor, "cases.close", case, label=_("结案"))
    return _close_locked(case, actor, note=note, now=now)


@transaction.atomic
def not_fixed(
    case: Case | int, actor: Any, comment: str, *, receipt_code: str = "", now: dt.datetime | None = None
) -> Case:
    """The reporter says "not fixed": the case reopens with fresh deadlines and their words reach the handler."""
    case = _lock(case)
    _require_reporter(case, actor, receipt_code, _("反馈未解决"))
    comment = (comment or "").strip()
    if not comment:
        raise CaseError(_("请说明哪里没有解决"), code="comment_required")
    now = _now(now)
    was_in_time = case.resolved_at is not None and (
        case.resolve_by is None or case.resolved_at <= case.resolve_by
    )
    deadlines = sla.compute(case.category.policy, now)
    for f, v in deadlines.as_fields().items():
        setattr(case, f, v)
    case.reopen_count += 1
    case.resolved_at = None
    case.due_soon = case.overdue = False
    case.supervision = Supervision.NORMAL
    case.sweep_level = SweepLevel.NONE
    case.state_reason = comment[:500]
    fields = [
        *deadlines.as_fields().keys(),
        "reopen_count",
        "resolved_at",
        "due_soon",
        "overdue",
        "supervision",
        "sweep_level",
        "state_reason",
    ]
    _transition(
        case,
        S.REOPENED,
        EventType.NOT_FIXED,
        actor,
        fields=fields,
        payload={"comment": comment, "was_in_time": was_in_time},
        now=now,
    )
    _notify(
        handler_user_ids(case) + supervisor_user_ids(case),
        _("反映人反馈问题未解决（%(n)s）") % {"n": case.number},
        comment,
        case,
        "case_reopened",
    )
    return case


@transaction.atomic
def follow_up_call(
    case: Case | int, actor: Any, rating: str, comment: str = "", *, now: dt.datetime | None = None
) -> Case:
    """电话回访: staff record the reporter's rating by phone for a case without an online rating.
    A resolved case is closed by it."""
    case = _lock(case)
    _require(actor, "cases.follow_up", case, label=_("回访"))
    if case.rating:
        raise CaseError(_("该工单已有评价"), code="already_rated")
    rating = _parse_rating(rating)
    now = _now(now)
    case.rating, case.rating_source, case.rating_comment, case.rated_at = (
        rating,
        RatingSource.FOLLOW_UP_CALL,
        comment[:500],
        now,
    )
    case.save(update_fields=["rating", "rating_source", "rating_comment", "rated_at", "updated_at"])
    _event(
        case, EventType.FOLLOW_UP_CALL, actor, payload={"rating": rating, "comment": comment[:500]}, at=now
    )
    if case.state == S.RESOLVED:
        _close_locked(case, actor, note="follow_up_call", now=now)
    return case


@transaction.atomic
def merge(duplicate: Case | int, primary: Case | int, actor: Any, *, now: dt.datetime | None = None) -> Case:
    """合并 a duplicate into a primary case. The duplicate's reporters hear the primary's outcome."""
    dup_pk = duplicate if isinstance(duplicate, int) else duplicate.pk
    primary_pk = primary if isinstance(primary, int) else primary.pk
    if dup_pk == primary_pk:
        raise CaseError(_("不能与自身合并"), code="self_merge")
    locked = {
        c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[dup_pk, primary_pk]).order_by("pk")
    }
    dup, prim = locked[dup_pk], locked[primary_pk]
    _require(actor, "cases.merge", dup, label=_("合并"))
    _require(actor, "cases.merge", prim, state=False)
    if prim.state in (S.MERGED, S.REJECTED, S.CLOSED):
        raise CaseError(_("主工单已结束，不能合并到该工单"), code="bad_primary")
    now = _now(now)
    payload = {
        "primary": prim.pk,
        "primary_number": prim.number,
        "had_response": dup.first_response_at is not None,
        "had_response_in_time": dup.first_response_at is not None
        and (dup.respond_by is None or dup.first_response_at <= dup.respond_by),
    }
    dup.merged_into = prim
    dup.assignee = None
    dup.property_company = None
    dup.department = None
    dup.closed_at = now
    _transition(
        dup,
        S.MERGED,
        EventType.MERGED,
        actor,
        fields=["merged_into", "assignee", "property_company", "department", "closed_at"],
        payload=payload,
        now=now,
        respond=False,
    )
    _notify(
        reporter_user_ids(dup),
        _("您的诉求 %(d)s 已与 %(p)s 合并办理") % {"d": dup.number, "p": prim.number},
        _("办理结果将同步告知您"),
        dup,
        "case_merged",
    )
    if prim.state == S.RESOLVED or prim.state == S.CLOSED:
        _notify(
            reporter_user_ids(dup),
            _("您反映的问题已办结（%(n)s）") % {"n": dup.number},
            prim.result[:300],
            dup,
            "case_resolved",
        )
    return dup


@transaction.atomic
def comment(case: Case | int, actor: Any, text: str, *, now: dt.datetime | None = None) -> CaseEvent:
    """A note on the timeline by anyone who handles the case."""
    case = _lock(case)
    _require(actor, "cases.comment", case)
    text = (text or "").strip()
    if not text:
        raise CaseError(_("请填写备注"), code="comment_required")
    return _event(case, EventType.COMMENT, actor, payload={"text": text[:2000]}, at=now)


@transaction.atomic
def add_photo(
    case: Case | int, actor: Any, file: Any, *, stage: str = "intake", caption: str = ""
) -> CasePhoto:
    case = _lock(case)
    _require(actor, "cases.add_photo", case)
    photo = CasePhoto.objects.create(
        case=case, file=file, stage=stage[:10], caption=caption[:100], uploaded_by=actor
    )
    audit.record(AuditLog.Action.CREATE, photo, actor=actor)
    return photo


# --------------------------------------------------------------------------------------------------------------
# reading with side effects


def reveal_contact_phone(case: Case, actor: Any) -> str:
    """Decrypt the contact phone for a handler or staff allowed to reveal phones; audited."""
    _require(actor, "cases.reveal_phone", case)
    audit.record(AuditLog.Action.REVEAL, case, actor=actor, field="contact_phone")
    return pii.decrypt(case.contact_phone_enc)


def lookup_by_receipt(number: str, receipt_code: str) -> Case | None:
    """Anonymous outcome lookup: case number and receipt code must both match."""
    case = Case.objects.filter(number=(number or "").strip()).first()
    if case is None or not receipt_code:
        return None
    # bytes: compare_digest refuses str with non-ASCII characters (a receipt code typed with a Chinese character)
    if not secrets.compare_digest(receipt_code.strip().upper().encode(), case.receipt_code.encode()):
        return None
    return case


# --------------------------------------------------------------------------------------------------------------
# re-categorising (改类) and routing at intake


def _moved_counters(case: Case) -> dict[str, int]:
    """The case-level counters a case holds under its category (they follow it to a new one)."""
    moved = {"received": 1}
    if case.channel == Channel.SUGGESTION_BOX:
        moved["suggestion_received"] = 1
    if case.first_response_at is not None:
        moved["responded"] = 1
        if case.respond_by is None or case.first_response_at <= case.respond_by:
            moved["responded_in_time"] = 1
    return moved


@transaction.atomic
def reclassify(
    case: Case | int, actor: Any, category: Any, *, reason: str = "", now: dt.datetime | None = None
) -> Case:
    """改类: staff change an open case's category; the tiers and every deadline are computed again from the new
    category's policy, counted from the moment of the change (a 房屋报修 that turns out to be 大修 gets the
    15-day clock from now). The reminders and supervision start over with the new clock; the old deadlines are
    kept in the event. The case's counters (received, responded) move to the new category, so the rates per
    category count it once, where it now belongs."""
    case = _lock(case)
    check_action_state("cases.reclassify", case.state, _("改类"))  # a closed case: 409, before who may
    _require(actor, "cases.reclassify", case, state=False)
    new = resolve_category(category)
    if new.pk == case.category_id:
        raise CaseError(_("新类别与原类别相同"), code="same_category")
    old = Category.objects.select_related("policy").get(pk=case.category_id)
    now = _now(now)
    reason = (reason or "").strip()[:500]
    before = {
        "category": old.pk,
        "policy": old.policy.code,
        "resolve_by": case.resolve_by.isoformat() if case.resolve_by else "",
        "plan_by": case.plan_by.isoformat() if case.plan_by else "",
    }
    moved = _moved_counters(case)
    common = {"from": old.pk, "to": new.pk, "from_name": old.name, "to_name": new.name, "moved": moved}
    _event(case, EventType.RECLASSIFIED, actor, payload={**common, "direction": "out"}, at=now)
    deadlines = sla.compute(new.policy, now)
    for f, v in deadlines.as_fields().items():
        setattr(case, f, v)
    case.category = new
    case.due_soon = case.overdue = False
    case.supervision = Supervision.NORMAL
    case.sweep_level = SweepLevel.NONE
    case.step_sweep = 0
    fields = [
        *deadlines.as_fields().keys(),
        "category",
        "due_soon",
        "overdue",
        "supervision",
        "sweep_level",
        "step_sweep",
        "updated_at",
    ]
    case.save(update_fields=fields)
    note = _("由「%(a)s」改为「%(b)s」，办结期限 %(d)s") % {
        "a": old.name,
        "b": new.name,
        "d": timezone.localtime(deadlines.resolve_by).strftime("%Y-%m-%d %H:%M"),
    }
    _event(
        case,
        EventType.RECLASSIFIED,
        actor,
        payload={
            **common,
            "direction": "in",
            "policy": new.policy.code,
            "resolve_by": deadlines.resolve_by.isoformat(),
            "reason": reason,
            "note": note,
        },
        at=now,
    )
    audit.record(
        AuditLog.Action.UPDATE,
        case,
        actor=actor,
        field="category",
        before=before,
        after={"category": new.pk, "policy": new.policy.code, "resolve_by": deadlines.resolve_by.isoformat()},
    )
    _notify(
        handler_user_ids(case),
        _("工单 %(n)s 已改类为「%(c)s」") % {"n": case.number, "c": new.name},
        note,
        case,
        "case_reclassified",
    )
    return case


def default_route(case: Case) -> dict[str, Any]:
    """Where a new case of its category goes without a dispatcher (empty: nowhere, it waits for staff).

    Only categories with ``auto_route`` on. A category handled by a property company goes to its
    ``default_property_company`` when that company serves the case's estate, else to the one company that serves
    the estate (an estate with none, or with several, waits for staff): so one category routes each estate's
    repairs to that estate's own company. A category handled by a department goes to its
    ``default_department`` when that department belongs to the case's subdistrict. Nothing crosses to another
    estate or subdistrict."""
    from tongxin.regions.models import PropertyCompany

    cat = case.category
    if not cat.auto_route:
        return {}
    if cat.handler_kind == HandlerKind.PROPERTY_COMPANY and case.estate_id:
        serving = PropertyCompany.objects.filter(estates=case.estate_id)
        if cat.default_property_company_id:
            chosen = serving.filter(pk=cat.default_property_company_id).first()
            if chosen is not None:
                return {"property_company": chosen}
        only = list(serving.order_by("pk")[:2])
        if len(only) == 1:
            return {"property_company": only[0]}
    if cat.handler_kind == HandlerKind.DEPARTMENT and cat.default_department_id and case.subdistrict_id:
        dept = cat.default_department
        if dept is not None and dept.subdistrict_id == case.subdistrict_id:
            return {"department": dept}
    return {}


def _auto_route(case: Case, now: dt.datetime) -> None:
    """Dispatch a just-submitted case to its category's default handling unit (see :func:`default_route`)."""
    if case.state != S.SUBMITTED or not case.category_id:
        return
    target = default_route(case)
    if target:
        _dispatch_locked(case, None, EventType.DISPATCHED, note="auto_route", now=now, routed=True, **target)


# --------------------------------------------------------------------------------------------------------------
# departments after report-in (吹哨报到)


def reported_in_department_ids(case: Case, user: Any) -> list[int]:
    """The user's departments that were whistled to the case, reported in and are still on it."""
    depts = scope_for(user).department_ids
    if not depts:
        return []
    return list(
        WhistleCall.objects.filter(
            case_id=case.pk,
            department_id__in=sorted(depts),
            reported_at__isnull=False,
            active=True,
        ).values_list("department_id", flat=True)
    )


def is_reported_in(case: Case, user: Any) -> bool:
    return bool(reported_in_department_ids(case, user))


def _on_team(case: Case, user: Any) -> bool:
    """The case's own handler: its assignee, or staff of its property company or department."""
    scope = scope_for(user)
    return (
        case.assignee_id == getattr(user, "pk", None)
        or (case.property_company_id is not None and case.property_company_id in scope.property_company_ids)
        or (case.department_id is not None and case.department_id in scope.department_ids)
    )


@transaction.atomic
def department_return(case: Case | int, actor: Any, reason: str, *, now: dt.datetime | None = None) -> Case:
    """部门退回: a department that reported in hands its part back with a reason (e.g. not its competence). Its
    call is released; the community and the subdistrict are told. When no one is left on the case it goes back
    to the dispatcher (已退单)."""
    case = _lock(case)
    if not is_reported_in(case, actor):
        raise CaseError(_("您所在部门未报到或已退出该工单"), code="forbidden")
    return _department_return_locked(case, actor, reason, now=now)


def _department_return_locked(case: Case, actor: Any, reason: str, *, now: dt.datetime | None = None) -> Case:
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(_("请填写退回原因"), code="reason_required")
    now = _now(now)
    depts = reported_in_department_ids(case, actor)
    WhistleCall.objects.filter(case=case, department_id__in=depts, active=True).update(
        active=False, released_at=now
    )
    payload = {"departments": depts, "reason": reason[:500]}
    left = WhistleCall.objects.filter(case=case, active=True).exists()
    nobody = not (left or case.assignee_id or case.property_company_id or case.department_id)
    if nobody and S.RETURNED in TRANSITIONS.get(case.state, frozenset()):
        case.state_reason = reason[:500]
        _transition(
            case,
            S.RETURNED,
            EventType.DEPARTMENT_RETURNED,
            actor,
            fields=["state_reason"],
            payload=payload,
            now=now,
            respond=False,
        )
    else:
        _event(case, EventType.DEPARTMENT_RETURNED, actor, payload=payload, at=now)
    _notify(
        supervisor_user_ids(case, include_subdistrict=True),
        _("部门退回工单 %(n)s") % {"n": case.number},
        reason,
        case,
        "case_returned",
    )
    return case


# --------------------------------------------------------------------------------------------------------------
# 登记并派单: the intake screen records and dispatches in one step

INTAKE_TARGETS = ("grid", "company", "round_robin")


def dispatch_at_intake(case: Case | int, actor: Any, target: str, *, now: dt.datetime | None = None) -> Case:
    """Dispatch a case just registered on the intake screen: ``grid`` (the grid's worker), ``company`` (the one
    property company serving the estate), ``round_robin`` (the category's next on-duty handler here) or
    ``department:<id>`` (a department of the case's subdistrict). A case the category already routed at intake is
    left as it is. Call inside the intake's transaction, so that a refusal registers nothing."""
    from tongxin.regions.models import Department, Grid, PropertyCompany

    locked = _lock(case)
    if locked.state != S.SUBMITTED:
        return locked
    kind, _sep, ident = target.partition(":")
    if kind == "round_robin":
        return round_robin(locked, actor, now=now)
    if kind == "grid":
        grid = Grid.objects.filter(pk=locked.grid_id).first() if locked.grid_id else None
        worker = grid.workers.filter(is_active=True).order_by("pk").first() if grid is not None else None
        if worker is None:
            raise CaseError(_("该位置所在网格没有网格员，请选择其他承办方"), code="no_handler")
        return dispatch(locked, actor, assignee=worker, note="intake", now=now)
    if kind == "company":
        companies = list(PropertyCompany.objects.filter(estates=locked.estate_id).order_by("pk")[:2])
        if len(companies) != 1:
            raise CaseError(_("无法确定该小区的物业公司，请在工单页派单"), code="no_handler")
        return dispatch(locked, actor, property_company=companies[0], note="intake", now=now)
    if kind == "department" and ident.isdigit():
        dept = Department.objects.filter(pk=int(ident)).first()
        if dept is None:
            raise CaseError(_("部门不存在"), code="unknown_department")
        return dispatch(locked, actor, department=dept, note="intake", now=now)
    raise CaseError(_("未知的派单方式"), code="no_target")
