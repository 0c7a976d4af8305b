"""Registry actions on residents and households: create, edit, tag, move in and out, change head, reveal.

Every action is atomic, locks the rows it changes (ordered by pk), checks that the actor may act on the place,
and writes an audit record whose before/after hold masked values only. Bad input raises a ``ValidationError``
whose dict names the field; a person or place outside the actor's scope is reported as not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, pii, policy
from tongxin.core.memo import Memo
from tongxin.core.models import AuditLog
from tongxin.people.choices import IdKind, Relation, ResidenceStatus, ResidentStatus
from tongxin.people.models import Household, Membership, Resident, Tag
from tongxin.people.pii import set_foreign_document, set_id_number, set_phone
from tongxin.people.policy import visible_tag_levels
from tongxin.regions.models import Dwelling

# user pk -> the resident linked to the account, with its dwelling (or None): forgotten when a resident or a dwelling
# is saved or deleted (people/apps.py); the link is made through save() (accounts.otp, the registry's forms)
RESIDENT_OF_USER = Memo("people-resident-of-user", ttl=60.0)


def resident_of(user: Any) -> Resident | None:
    """The resident linked to ``user`` (with its dwelling), memoised per process; each caller gets its own copy."""
    if not getattr(user, "is_authenticated", False):
        return None
    uid = user.pk
    return RESIDENT_OF_USER.get(
        uid, lambda: Resident.objects.filter(user_id=uid).select_related("dwelling").first(), copy=True
    )


REVEAL_FIELDS = ("id_number", "phone")
REVEAL_ACTIONS = {"id_number": "people.reveal_id_number", "phone": "people.reveal_phone"}


def snapshot(resident: Resident) -> dict[str, Any]:
    """The audited view of a resident: masked personal values, no clear text, no birth date."""
    return {
        "name": resident.name,
        "id_kind": resident.id_kind,
        "id_number": resident.id_number_masked,
        "gender": resident.gender,
        "phone": resident.phone_masked,
        "residence_status": resident.residence_status,
        "status": resident.status,
        "dwelling": resident.dwelling_id,
        "household": resident.household_id,
        "relation": resident.relation,
        "skills": resident.skills,
    }


def _not_found(field: str) -> ValidationError:
    return ValidationError({field: _("房屋不存在或不在您的管辖范围内")}, code="out_of_scope")


def _check_resident(actor: Any, resident: Resident) -> None:
    """Raise unless the actor may change ``resident`` (people.edit_resident); out of scope reads as "not found"."""
    if not policy.can(actor, "people.edit_resident", resident):
        raise PermissionDenied(_("居民不存在或不在您的管辖范围内"))


def _check_dwelling(actor: Any, dwelling: Dwelling | None, field: str = "dwelling") -> Dwelling:
    if dwelling is None:
        raise ValidationError({field: _("请选择房屋")}, code="required")
    if not policy.can(actor, "people.create_resident", dwelling):
        raise _not_found(field)
    return dwelling


def _apply_identity(resident: Resident, id_kind: str, id_number: str | None, phone: str | None) -> None:
    """Validate and store id number and phone; ``None`` leaves a value unchanged."""
    errors: dict[str, list[str]] = {}
    if id_kind not in IdKind.values:
        errors["id_kind"] = [_("证件类型无效")]
    elif id_number is not None:
        try:
            if id_kind == IdKind.ID_CARD:
                set_id_number(resident, id_number.strip())
            elif id_number.strip():
                set_foreign_document(resident, id_number)
            else:
                set_id_number(resident, "")
        except pii.PIIError as exc:
            errors["id_number"] = [str(exc)]
        else:
            resident.id_kind = id_kind
            if resident.id_number_hash:
                dup = Resident.objects.filter(id_number_hash=resident.id_number_hash).exclude(pk=resident.pk)
                if dup.exists():
                    errors["id_number"] = [_("该证件号码已登记在其他居民名下")]
    if phone is not None:
        try:
            set_phone(resident, phone.strip())
        except pii.PIIError as exc:
            errors["phone"] = [str(exc)]
    if errors:
        raise ValidationError(errors)


def _clean_basic(name: str, residence_status: str) -> None:
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = _("请填写姓名")
    elif len(name.strip()) > 50:
        errors["name"] = _("姓名不能超过50个字")
    if residence_status not in ResidenceStatus.values:
        errors["residence_status"] = _("人口类型无效")
    if errors:
        raise ValidationError(errors)


def _save_new(resident: Resident) -> None:
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError:
        # Two clerks entering the same person at once: the unique index decides.
        raise ValidationError({"id_number": _("该证件号码已登记在其他居民名下")}) from None


@transaction.atomic
def create_resident(
    actor: Any,
    *,
    name: str,
    dwelling: Dwelling | None,
    id_number: str = "",
    id_kind: str = IdKind.ID_CARD,
    phone: str = "",
    residence_status: str = ResidenceStatus.REGISTERED,
    skills: str = "",
    relation: str = Relation.HEAD,
    start_household: bool = False,
    tags: Iterable[str] = (),
) -> Resident:
    """Register a resident living in ``dwelling`` (joining its household or starting one)."""
    dwelling = _check_dwelling(actor, dwelling)
    _clean_basic(name, residence_status)
    resident = Resident(name=name.strip(), residence_status=residence_status, skills=skills.strip())
    _apply_identity(resident, id_kind, id_number, phone)
    _save_new(resident)
    audit.record(AuditLog.Action.CREATE, resident, actor=actor, after=snapshot(resident))
    if tags:
        set_tags(actor, resident, tags, _checked=True)
    move_in(actor, resident, dwelling, relation=relation, start_household=start_household, _checked=True)
    resident.refresh_from_db()
    return resident


@transaction.atomic
def create_person(
    actor: Any,
    *,
    name: str,
    id_number: str = "",
    id_kind: str = IdKind.ID_CARD,
    phone: str = "",
    skills: str = "",
) -> Resident:
    """Register a person who lives outside the subdistrict's registry (no dwelling, no household): a 下沉 cadre or
    a co-building unit's member who serves a community without living in it. The caller has checked that the
    actor may register him (``party.register_member``); he is seen through what he does there, not the roster."""
    _clean_basic(name, ResidenceStatus.REGISTERED)
    resident = Resident(name=name.strip(), residence_status=ResidenceStatus.REGISTERED, skills=skills.strip())
    _apply_identity(resident, id_kind, id_number, phone)
    _save_new(resident)
    audit.record(AuditLog.Action.CREATE, resident, actor=actor, after=snapshot(resident))
    return resident


@transaction.atomic
def update_resident(
    actor: Any,
    resident: Resident,
    *,
    name: str,
    id_kind: str,
    id_number: str | None = None,
    phone: str | None = None,
    residence_status: str,
    skills: str = "",
) -> Resident:
    """Change a resident's own fields. ``id_number``/``phone`` of ``None`` keep the stored values."""
    _check_resident(actor, resident)
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    before = snapshot(resident)
    _clean_basic(name, residence_status)
    resident.name = name.strip()
    resident.residence_status = residence_status
    resident.skills = (skills or "").strip()
    if id_kind != resident.id_kind and id_number is None:
        raise ValidationError({"id_number": _("更改证件类型时请重新填写证件号码")})
    _apply_identity(resident, id_kind, id_number, phone)
    try:
        with transaction.atomic():
            resident.save(
                update_fields=[
                    "name",
                    "residence_status",
                    "skills",
                    "id_kind",
                    "id_number_enc",
                    "id_number_hash",
                    "id_number_masked",
                    "id_last4",
                    "gender",
                    "birth_date",
                    "phone_enc",
                    "phone_hash",
                    "phone_masked",
                    "phone_last4",
                    "updated_at",
                ]
            )
    except IntegrityError:
        raise ValidationError({"id_number": _("该证件号码已登记在其他居民名下")}) from None
    changed_before, changed_after = audit.diff(before, snapshot(resident))
    if changed_after:
        audit.record(
            AuditLog.Action.UPDATE, resident, actor=actor, before=changed_before, after=changed_after
        )
    return resident


@transaction.atomic
def set_tags(actor: Any, resident: Resident, codes: Iterable[str], *, _checked: bool = False) -> list[str]:
    """Replace the tags the actor can see. Restricted tags are kept as they are for roles that cannot see them."""
    if not _checked:
        _check_resident(actor, resident)
    levels = visible_tag_levels(actor)
    wanted = sorted({c for c in codes if c})
    known = {t.code: t for t in Tag.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ValidationError({"tags": _("未知标签：%(codes)s") % {"codes": "、".join(unknown)}})
    if any(t.sensitivity not in levels for t in known.values()):
        raise ValidationError({"tags": _("您无权设置受限标签")})
    Resident.objects.select_for_update().filter(pk=resident.pk).first()
    current = list(resident.tags.all())
    before = sorted(t.code for t in current)
    kept_hidden = [t for t in current if t.sensitivity not in levels]
    resident.tags.set([*known.values(), *kept_hidden])
    after = sorted({*(t.code for t in known.values()), *(t.code for t in kept_hidden)})
    if before != after:
        audit.record(
            AuditLog.Action.UPDATE,
            resident,
            actor=actor,
            field="tags",
            before={"tags": before},
            after={"tags": after},
        )
    return after


def _end_membership(resident: Resident, on: dt.date) -> Household | None:
    """Close the resident's current stay; a household left empty ends too. Returns the household left."""
    current = (
        Membership.objects.select_for_update().filter(resident=resident, moved_out_on__isnull=True).first()
    )
    if current is None:
        return None
    current.moved_out_on = on
    current.save(update_fields=["moved_out_on"])
    household = Household.objects.select_for_update().get(pk=current.household_id)
    remaining = Membership.objects.filter(household=household, moved_out_on__isnull=True).exists()
    fields = []
    if household.head_id == resident.pk:
        household.head = None
        fields.append("head")
    if not remaining:
        household.ended_on = on
        fields.append("ended_on")
    if fields:
        household.save(update_fields=fields)
    return household


@transaction.atomic
def move_in(
    actor: Any,
    resident: Resident,
    dwelling: Dwelling | None,
    *,
    relation: str = Relation.HEAD,
    start_household: bool = False,
    on: dt.date | None = None,
    _checked: bool = False,
) -> Household:
    """Move ``resident`` into ``dwelling``: join its current household, or start a new one as its head.

    A new household is started when the dwelling has none or ``start_household`` is set (the resident is then
    its head). Joining needs a relation to the head other than "head" (use :func:`change_head` for that). A
    resident living elsewhere moves out of the old household first, so the history shows both stays.
    """
    if not _checked:
        _check_resident(actor, resident)
    dwelling = _check_dwelling(actor, dwelling)
    on = on or timezone.localdate()
    if relation not in Relation.values:
        raise ValidationError({"relation": _("与户主关系无效")})
    locked = Resident.objects.select_for_update().get(pk=resident.pk)
    before = snapshot(locked)
    current = (
        Household.objects.select_for_update()
        .filter(dwelling=dwelling, ended_on__isnull=True)
        .order_by("-started_on", "-pk")
        .first()
    )
    if current is not None and current.pk == locked.household_id and locked.status == ResidentStatus.ACTIVE:
        raise ValidationError({"dwelling": _("该居民已住在这户")})
    joining = current is not None and not start_household
    if joining and relation == Relation.HEAD:
        raise ValidationError({"relation": _("这户已有户主；加入时请选择与户主的关系，或另立新户")})
    _end_membership(locked, on)
    if joining:
        assert current is not None
        household = current
    else:
        household = Household.objects.create(dwelling=dwelling, head=locked, started_on=on)
        relation = Relation.HEAD
    Membership.objects.create(household=household, resident=locked, relation=relation, moved_in_on=on)
    locked.dwelling = dwelling
    locked.household = household
    locked.relation = relation
    locked.status = ResidentStatus.ACTIVE
    locked.save(update_fields=["dwelling", "household", "relation", "status", "updated_at"])
    changed_before, changed_after = audit.diff(before, snapshot(locked))
    audit.record(
        AuditLog.Action.UPDATE,
        locked,
        actor=actor,
        field="dwelling",
        before=changed_before,
        after=changed_after,
    )
    resident.dwelling, resident.household, resident.relation = dwelling, household, relation
    resident.status = locked.status
    return household


@transaction.atomic
def move_out(
    actor: Any,
    resident: Resident,
    *,
    on: dt.date | None = None,
    status: str = ResidentStatus.MOVED_OUT,
) -> Resident:
    """Record that a resident left (or died). The stay, the household and the person are all kept.

    The resident keeps their last dwelling, so the staff responsible for it can still find them in the history.
    """
    _check_resident(actor, resident)
    if status not in (ResidentStatus.MOVED_OUT, ResidentStatus.DECEASED):
        raise ValidationError({"status": _("迁出状态无效")})
    locked = Resident.objects.select_for_update().get(pk=resident.pk)
    if locked.status != ResidentStatus.ACTIVE:
        raise ValidationError({"status": _("该居民已不在住")})
    before = snapshot(locked)
    _end_membership(locked, on or timezone.localdate())
    locked.household = None
    locked.relation = ""
    locked.status = status
    locked.save(update_fields=["household", "relation", "status", "updated_at"])
    changed_before, changed_after = audit.diff(before, snapshot(locked))
    audit.record(
        AuditLog.Action.UPDATE,
        locked,
        actor=actor,
        field="status",
        before=changed_before,
        after=changed_after,
    )
    return locked


@transaction.atomic
def change_head(
    actor: Any, household: Household, new_head: Resident, *, old_head_relation: str = ""
) -> Household:
    """Make a current member the head; the old head (if still living there) takes ``old_head_relation``."""
    if not policy.can(actor, "people.change_head", household):
        raise PermissionDenied(_("家庭不存在或不在您的管辖范围内"))
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.ended_on is not None:
        raise ValidationError({"household": _("这户已迁出，不能更换户主")})
    old_relation = old_head_relation or Relation.OTHER
    if old_relation not in Relation.values or old_relation == Relation.HEAD:
        raise ValidationError({"old_head_relation": _("原户主与新户主的关系无效")})
    ids = sorted({new_head.pk, *([household.head_id] if household.head_id else [])})
    people = {r.pk: r for r in Resident.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    new = people[new_head.pk]
    membership = Membership.objects.filter(
        household=household, resident=new, moved_out_on__isnull=True
    ).first()
    if membership is None:
        raise ValidationError({"new_head": _("新户主必须是这户的现有成员")})
    if household.head_id == new.pk:
        raise ValidationError({"new_head": _("此人已是户主")})
    before = {"head": household.head_id}
    old = people.get(household.head_id) if household.head_id else None
    if old is not None:
        old.relation = old_relation
        old.save(update_fields=["relation", "updated_at"])
        Membership.objects.filter(household=household, resident=old, moved_out_on__isnull=True).update(
            relation=old_relation
        )
    new.relation = Relation.HEAD
    new.save(update_fields=["relation", "updated_at"])
    membership.relation = Relation.HEAD
    membership.save(update_fields=["relation"])
    household.head = new
    household.save(update_fields=["head"])
    audit.record(
        AuditLog.Action.UPDATE, household, actor=actor, field="head", before=before, after={"head": new.pk}
    )
    return household


def reveal(actor: Any, resident: Resident, what: str) -> str:
    """Return the clear id number or phone of ``resident`` for an authorised actor, and audit it.

    Raises ``PermissionDenied`` when the resident is out of scope or the actor's role may not reveal this
    value here (the views answer 404 either way, so nothing is learned about people outside the scope).
    """
    if what not in REVEAL_FIELDS:
        raise ValidationError({"what": _("只能查看证件号码或联系电话")})
    found = Resident.objects.visible_to(actor).select_related("dwelling").filter(pk=resident.pk).first()
    if found is None or not policy.can(actor, REVEAL_ACTIONS[what], found):
        raise PermissionDenied(_("无权查看"))
    value = pii.decrypt(found.id_number_enc if what == "id_number" else found.phone_enc)
    audit.record(AuditLog.Action.REVEAL, found, actor=actor, field=what)
    return value


# ---- grid roster (一表) ---------------------------------------------------------------------------------------


def grid_roster(actor: Any, grid: Any) -> QuerySet[Any]:
    """The dwellings of ``grid`` the actor sees, with current head of household and whether a member lives there.

    One query for any number of rows: the head and the party household flag are correlated subqueries.
    """
    current = Household.objects.filter(dwelling=OuterRef("pk"), ended_on__isnull=True).order_by(
        "-started_on", "-pk"
    )
    members = Resident.objects.filter(
        dwelling=OuterRef("pk"), status=ResidentStatus.ACTIVE, party_member__active=True
    )
    return (
        Dwelling.objects.visible_to(actor)
        .filter(grid=grid)
        .select_related("estate", "building", "entrance")
        .annotate(head_name=Subquery(current.values("head__name")[:1]), party_household=Exists(members))
        .order_by(
            "estate__name", "building__number", "building_id", "entrance__number", "entrance_id", "number"
        )
    )


def grid_roster_dwellings(actor: Any, grid: Any) -> QuerySet[Dwelling]:
    """The grid's dwellings the actor sees, in roster order, without the per-dwelling columns (for paging)."""
    return (
        Dwelling.objects.visible_to(actor)
        .filter(grid=grid)
        .select_related("estate", "building", "entrance")
        .order_by(
            "estate__name", "building__number", "building_id", "entrance__number", "entrance_id", "number"
        )
    )


def add_roster_columns(dwellings: list[Any]) -> None:
    """Set ``head_name`` and ``party_household`` on one page of dwellings with one query.

    Everyone living in a dwelling belongs to one of its current households, so the party flag is read per
    current household and combined per dwelling.
    """
    members = Resident.objects.filter(
        household=OuterRef("pk"), status=ResidentStatus.ACTIVE, party_member__active=True
    )
    rows = (
        Household.objects.filter(dwelling_id__in=[d.pk for d in dwellings], ended_on__isnull=True)
        .annotate(has_member=Exists(members))
        .order_by("dwelling_id", "started_on", "pk")
        .values_list("dwelling_id", "head__name", "has_member")
    )
    heads: dict[int, str] = {}
    party: set[int] = set()
    for dwelling_id, head_name, has_member in rows:
        heads[dwelling_id] = head_name or heads.get(dwelling_id, "")
        if has_member:
            party.add(dwelling_id)
    for d in dwellings:
        d.head_name = heads.get(d.pk, "")
        d.party_household = d.pk in party
