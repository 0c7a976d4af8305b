"""Every write of mediation: registering a dispute (from a grid patrol, a walk-in, or a case handed over),
assigning a mediator, sessions, the agreement or the failure, follow-up visits and closing, handing a dispute back
to its case, and the audited reveal of a party's phone.

Writes are atomic, checked by mediation/policy.py and the transition table in mediation/choices.py, and appended
to the dispute's event table; the mediator is told on commit through ``notify``.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, pii, policy
from tongxin.core.models import AuditLog
from tongxin.core.notifications import notify
from tongxin.mediation.choices import TRANSITIONS, DisputeSource, DisputeState, EventType, PartyRole
from tongxin.mediation.models import (
    Agreement,
    Dispute,
    DisputeEvent,
    DisputeParty,
    FollowUp,
    Mediator,
    Session,
)
from tongxin.people.pii import set_phone
from tongxin.regions.models import Dwelling, Grid
from tongxin.regions.scoping import scope_for


class MediationError(ValidationError):
    pass


def _event(dispute: Dispute, type_: str, actor: Any, **payload: Any) -> None:
    DisputeEvent.objects.create(
        dispute=dispute, type=type_, actor=DisputeEvent.actor_of(actor), payload=payload
    )


def _move(dispute: Dispute, to: str) -> None:
    if to not in TRANSITIONS.get(dispute.state, frozenset()):
        raise MediationError(
            _("不能从“%(a)s”变为“%(b)s”") % {"a": dispute.get_state_display(), "b": DisputeState(to).label},
            code="bad_transition",
        )
    dispute.state = to
    dispute.save(update_fields=["state", "updated_at"])


def _lock(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().get(pk=dispute.pk)


def link(dispute: Dispute) -> str:
    return reverse("mediation:detail", args=[dispute.pk])


def _parties(dispute: Dispute, parties: Sequence[dict[str, Any]]) -> None:
    if not parties:
        raise MediationError({"parties": _("请至少登记一位当事人")})
    for p in parties:
        name = (p.get("name") or "").strip()
        if not name:
            raise MediationError({"parties": _("请填写当事人姓名")})
        row = DisputeParty(
            dispute=dispute,
            role=p.get("role") or PartyRole.APPLICANT,
            name=name[:50],
            resident=p.get("resident"),
        )
        phone = (p.get("phone") or "").strip()
        if phone:
            try:
                set_phone(row, phone)
            except ValidationError as exc:
                raise MediationError({"parties": exc.messages}) from exc
        row.save()


@transaction.atomic
def register(
    actor: Any,
    *,
    title: str,
    description: str,
    kind: str,
    source: str,
    grid: Grid,
    parties: Sequence[dict[str, Any]],
    dwelling: Dwelling | None = None,
    case: Any = None,
) -> Dispute:
    """Put a dispute on the grid's register (矛盾纠纷排查) with its parties."""
    policy.require(actor, "mediation.register")
    if not getattr(actor, "is_superuser", False) and not scope_for(actor).registry().covers(_GridProbe(grid)):
        raise MediationError({"grid": _("该网格不在您的管辖范围内")}, code="out_of_scope")
    if dwelling is not None and dwelling.grid_id != grid.pk:
        raise MediationError({"dwelling": _("房屋不在该网格内")})
    title, description = (title or "").strip(), (description or "").strip()
    if not title or not description:
        raise MediationError({"title" if not title else "description": _("请填写纠纷概要和情况")})
    dispute = Dispute.objects.create(
        number=f"tmp{secrets.token_hex(8)}",
        title=title[:120],
        description=description,
        kind=kind,
        source=source,
        subdistrict_id=grid.community.parent_id or 0,
        community_id=grid.community_id,
        grid=grid,
        dwelling=dwelling,
        case=case,
        registered_by=actor,
    )
    dispute.number = f"TJ{timezone.localdate():%Y}{dispute.pk:06d}"
    dispute.save(update_fields=["number"])
    _parties(dispute, parties)
    _event(
        dispute, EventType.FROM_CASE if case else EventType.REGISTERED, actor, case=getattr(case, "pk", None)
    )
    audit.record(AuditLog.Action.CREATE, dispute, actor=actor, after={"kind": kind, "source": source})
    return dispute


class _GridProbe:
    """A grid seen as an object with location fields (for ``Scope.covers``)."""

    def __init__(self, grid: Grid) -> None:
        self.grid_id = grid.pk
        self.community_id = grid.community_id
        self.subdistrict_id = grid.community.parent_id


@transaction.atomic
def hand_over_case(actor: Any, case: Any, *, kind: str, parties: Sequence[dict[str, Any]] = ()) -> Dispute:
    """Hand a case to mediation: a dispute on the register of the case's grid, linked to the case, with a note on
    the case's timeline. The case's reporter is the first party unless parties are given."""
    policy.require(actor, "mediation.hand_over_case", case)
    if case.grid_id is None:
        raise MediationError(_("诉求没有网格，无法转入调解"), code="no_grid")
    if Dispute.objects.filter(case=case).exclude(state=DisputeState.RETURNED).exists():
        raise MediationError(_("该诉求已转入调解"), code="duplicate")
    if not parties:
        parties = [{"role": PartyRole.APPLICANT, "name": case.contact_name or _("反映人")}]
    dispute = register(
        actor,
        title=case.title or _("诉求%(n)s转调解") % {"n": case.number},
        description=case.description or case.title or case.number,
        kind=kind,
        source=DisputeSource.CASE,
        grid=case.grid,
        dwelling=case.dwelling,
        parties=parties,
        case=case,
    )
    _note_on_case(case, actor, _("已转入矛盾调解（%(n)s）") % {"n": dispute.number})
    return dispute


def _note_on_case(case: Any, actor: Any, text: str) -> None:
    from tongxin.cases import services as cases

    if cases.may_handle(case, actor) or cases.may_manage(case, actor):
        cases._event(case, "comment", actor, payload={"text": text})


@transaction.atomic
def assign(actor: Any, dispute: Dispute, mediator: Mediator) -> Dispute:
    dispute = _lock(dispute)
    policy.require(actor, "mediation.manage", dispute)
    if mediator.community_id != dispute.community_id or not mediator.active:
        raise MediationError({"mediator": _("请选择本社区在岗的调解员")})
    dispute.mediator = mediator
    dispute.save(update_fields=["mediator", "updated_at"])
    if dispute.state == DisputeState.REGISTERED:
        _move(dispute, DisputeState.MEDIATING)
    _event(dispute, EventType.ASSIGNED, actor, mediator=mediator.pk)
    if mediator.user_id:
        notify(
            [mediator.user_id],
            _("请调解：%(t)s") % {"t": dispute.title},
            dispute.number,
            link(dispute),
            kind="mediation_assigned",
            event=f"dispute:{dispute.pk}:mediator:{mediator.pk}",
        )
    return dispute


@transaction.atomic
def record_session(actor: Any, dispute: Dispute, *, notes: str, location: str = "") -> Session:
    dispute = _lock(dispute)
    policy.require(actor, "mediation.mediate", dispute)
    if not (notes or "").strip():
        raise MediationError({"notes": _("请填写调解记录")})
    if dispute.state == DisputeState.REGISTERED:
        _move(dispute, DisputeState.MEDIATING)
    s = Session.objects.create(
        dispute=dispute, notes=notes.strip(), location=location[:100], recorded_by=actor
    )
    _event(dispute, EventType.SESSION, actor, session=s.pk)
    return s


@transaction.atomic
def record_agreement(actor: Any, dispute: Dispute, *, text: str) -> Agreement:
    dispute = _lock(dispute)
    policy.require(actor, "mediation.mediate", dispute)
    if not (text or "").strip():
        raise MediationError({"text": _("请填写协议内容")})
    if not dispute.sessions.exists():
        raise MediationError(_("请先记录调解过程"), code="no_session")
    _move(dispute, DisputeState.AGREED)
    agreement, _created = Agreement.objects.update_or_create(
        dispute=dispute,
        defaults={"text": text.strip(), "recorded_by": actor, "signed_on": timezone.localdate()},
    )
    _event(dispute, EventType.AGREED, actor)
    return agreement


@transaction.atomic
def record_failure(actor: Any, dispute: Dispute, *, reason: str) -> Dispute:
    dispute = _lock(dispute)
    policy.require(actor, "mediation.mediate", dispute)
    if not (reason or "").strip():
        raise MediationError({"reason": _("请说明调解不成的原因")})
    _move(dispute, DisputeState.FAILED)
    dispute.outcome = reason.strip()
    dispute.save(update_fields=["outcome", "updated_at"])
    _event(dispute, EventType.FAILED, actor, reason=dispute.outcome)
    return dispute


@transaction.atomic
def follow_up(actor: Any, dispute: Dispute, *, kept: bool, notes: str = "") -> FollowUp:
    """A follow-up visit after the agreement: kept closes the dispute, broken takes it back to mediation."""
    dispute = _lock(dispute)
    policy.require(actor, "mediation.mediate", dispute)
    if dispute.state != DisputeState.AGREED:
        raise MediationError(_("达成协议后才能回访"), code="bad_state")
    f = FollowUp.objects.create(dispute=dispute, kept=kept, notes=(notes or "").strip(), by=actor)
    _event(dispute, EventType.FOLLOW_UP, actor, kept=kept)
    if kept:
        _move(dispute, DisputeState.CLOSED)
        dispute.outcome = dispute.outcome or _("调解成功，协议已履行")
        dispute.save(update_fields=["outcome", "updated_at"])
        _event(dispute, EventType.CLOSED, actor)
    else:
        _move(dispute, DisputeState.MEDIATING)
    return f


@transaction.atomic
def close_failed(actor: Any, dispute: Dispute) -> Dispute:
    dispute = _lock(dispute)
    policy.require(actor, "mediation.manage", dispute)
    if dispute.state != DisputeState.FAILED:
        raise MediationError(_("只有调解不成的纠纷可以直接结案"), code="bad_state")
    _move(dispute, DisputeState.CLOSED)
    _event(dispute, EventType.CLOSED, actor)
    return dispute


@transaction.atomic
def return_to_case(actor: Any, dispute: Dispute, *, note: str) -> Dispute:
    """Hand a dispute back to its case (mediation is not the way: a legal claim, a repair …)."""
    dispute = _lock(dispute)
    if dispute.case_id is None:
        raise MediationError(_("该纠纷不是由诉求转入的"), code="no_case")
    policy.require(actor, "mediation.manage", dispute)
    if not (note or "").strip():
        raise MediationError({"note": _("请说明退回原因")})
    _move(dispute, DisputeState.RETURNED)
    dispute.outcome = note.strip()
    dispute.save(update_fields=["outcome", "updated_at"])
    _event(dispute, EventType.RETURNED, actor, note=dispute.outcome)
    assert dispute.case is not None
    _note_on_case(dispute.case, actor, _("矛盾调解退回：%(n)s") % {"n": dispute.outcome})
    return dispute


@transaction.atomic
def reveal_phone(actor: Any, party: DisputeParty) -> str:
    """The clear phone of a party, for one call: audited like a resident's."""
    policy.require(actor, "mediation.reveal_phone", party)
    value = pii.decrypt(party.phone_enc) if party.phone_enc else ""
    audit.record(
        AuditLog.Action.REVEAL, party, actor=actor, field="phone", after={"masked": party.phone_masked}
    )
    _event(party.dispute, EventType.REVEALED, actor, party=party.pk)
    return value


@transaction.atomic
def add_mediator(
    actor: Any, *, community: Any, kind: str, name: str, organisation: str = "", user: Any = None
) -> Mediator:
    m = Mediator(
        community=community, kind=kind, name=(name or "").strip()[:50], organisation=organisation, user=user
    )
    policy.require(actor, "mediation.manage_mediators", m)
    if not m.name:
        raise MediationError({"name": _("请填写姓名")})
    m.save()
    return m


def agreement_pdf(dispute: Dispute) -> bytes:
    """The agreement as a PDF to print and sign (names of the parties, the text, signature lines)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    from tongxin.core.pdf import cjk_font

    font = cjk_font()  # embedded: the agreement prints the same anywhere
    h1 = ParagraphStyle("h1", fontName=font, fontSize=18, leading=26, alignment=1, spaceAfter=10)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18)
    agreement = dispute.agreement
    story: list[Any] = [
        Paragraph(_("人民调解协议书"), h1),
        Paragraph(_("编号：%(n)s") % {"n": dispute.number}, body),
    ]
    for p in dispute.parties.all():
        story.append(Paragraph(f"{p.get_role_display()}：{p.name}", body))
    story += [Spacer(1, 4 * mm), Paragraph(_("纠纷简要情况：%(t)s") % {"t": dispute.description}, body)]
    story += [Spacer(1, 4 * mm), Paragraph(_("经调解，自愿达成如下协议："), body)]
    for line in agreement.text.splitlines():
        if line.strip():
            story.append(Paragraph(line.strip(), body))
    story += [Spacer(1, 12 * mm)]
    for p in dispute.parties.all():
        story.append(Paragraph(_("%(role)s（签名）：____________") % {"role": p.get_role_display()}, body))
    mediator = dispute.mediator.name if dispute.mediator else ""
    story.append(Paragraph(_("调解员（签名）：%(m)s ____________") % {"m": mediator}, body))
    story.append(Paragraph(_("日期：%(d)s") % {"d": agreement.signed_on}, body))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=_("人民调解协议书")).build(story)
    return out.getvalue()
