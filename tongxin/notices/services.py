"""Notices: draft, send (fan-out and the first level of the cascade), pass on level by level, receipts from
households and from leaders on their behalf, reminders, escalation after the deadline, close.

Every write is atomic, checked by the policy and the transition tables in choices.py, appended to the notice's
timeline (:class:`NoticeEvent`) and audited; messages go through :func:`tongxin.core.notifications.notify` on
commit. Receipts are the exception to "lock, check, save": a receipt only moves forward, so recording one is a
single conditional ``UPDATE … WHERE rank < new rank`` — atomic without a read or a lock, which is what lets a
million households answer at thousands per second (docs/bench/notices.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.core.notifications import notify
from tongxin.notices import fanout
from tongxin.notices.choices import (
    NOTICE_TRANSITIONS,
    PROXY_CHANNELS,
    RECEIPT_RANK,
    RELAY_TRANSITIONS,
    Action,
    Audience,
    EventType,
    LeaderRole,
    Level,
    NoticeState,
    ReceiptChannel,
    ReceiptStatus,
    RelayState,
)
from tongxin.notices.models import LeaderAssignment, Notice, NoticeAttachment, NoticeEvent, Receipt, Relay
from tongxin.people.choices import ResidentStatus
from tongxin.people.models import Resident, Tag
from tongxin.regions.choices import RegionKind, Role
from tongxin.regions.models import Grid, Region, RoleAssignment

MAX_REPLY_FIELDS = 5
DIRECT_INLINE = 5_000  # direct messages sent with the send itself; more go to the worker in batches
DIRECT_BATCH = 10_000
REPLY_MAX = 200


class NoticeError(ValidationError):
    """A refused notice action, with the field it concerns (ValidationError: the API and forms show it)."""


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _event(
    notice: Notice, type_: str, actor: Any, payload: dict | None = None, at: dt.datetime | None = None
) -> None:
    NoticeEvent.objects.create(
        notice=notice,
        type=type_,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        payload=payload or {},
        at=_now(at),
    )


def _check(table: dict[str, frozenset[str]], current: str, new: str) -> None:
    if new not in table.get(current, frozenset()):
        raise NoticeError(_("不能从“%(a)s”变为“%(b)s”") % {"a": current, "b": new}, code="bad_transition")


def notice_link(notice: Notice) -> str:
    return reverse("notices:mine_detail", args=[notice.pk])


def leader_link(notice: Notice) -> str:
    return reverse("notices:leader_notice", args=[notice.pk])


def coverage_link(notice: Notice, region_id: int | None = None) -> str:
    url = reverse("notices:coverage", args=[notice.pk])
    return f"{url}?node={region_id}" if region_id else url


# ----------------------------------------------------------------------------------------------- draft
def parse_reply_fields(text: str) -> list[dict[str, str]]:
    """One label per line ("在家人数") → ``[{"key": "f1", "label": "在家人数"}]``."""
    labels = [line.strip()[:40] for line in (text or "").splitlines() if line.strip()]
    if len(labels) > MAX_REPLY_FIELDS:
        raise NoticeError({"reply_fields": _("回执栏目最多%(n)d个") % {"n": MAX_REPLY_FIELDS}})
    return [{"key": f"f{i}", "label": label} for i, label in enumerate(labels, 1)]


@transaction.atomic
def create(
    actor: Any,
    *,
    title: str,
    body: str,
    target: Region,
    action: str = Action.READ,
    audience: str = Audience.HOUSEHOLDS,
    target_grid: Grid | None = None,
    tags: Sequence[Tag] = (),
    reply_fields: list[dict[str, str]] | None = None,
    deadline: dt.datetime | None = None,
    attachments: Sequence[Any] = (),
    now: dt.datetime | None = None,
) -> Notice:
    """Draft a notice. ``target`` is the subtree it goes to (a community, an estate, a building …); the origin
    is the actor's own level above it (the community of the target, or the subdistrict for a subdistrict-wide
    notice)."""
    policy.require(actor, "notices.create")
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise NoticeError({"title": _("请填写标题")})
    if not body:
        raise NoticeError({"body": _("请填写正文")})
    if action not in Action.values:
        raise NoticeError({"action": _("未知的回执要求")})
    if audience not in Audience.values:
        raise NoticeError({"audience": _("未知的发送对象")})
    if audience == Audience.TAGGED and not tags:
        raise NoticeError({"tags": _("按标签发送时请选择标签")})
    # a subdistrict's notice comes from the subdistrict, anything below it from its community
    community_id = None if target.kind == RegionKind.SUBDISTRICT else target.place_ids()[1]
    origin = target if community_id is None else Region.objects.get(pk=community_id)
    if not Region.objects.visible_to(actor).filter(pk=target.pk).exists():
        raise policy.PolicyDenied(policy.Decision.NOT_FOUND, "notices.create")
    if target_grid is not None and origin.pk not in (
        target_grid.community_id,
        target_grid.community.parent_id,
    ):
        raise NoticeError({"target_grid": _("网格不在发送范围内")})
    if deadline is not None and deadline <= _now(now):
        raise NoticeError({"deadline": _("截止时间应晚于现在")})
    notice = Notice.objects.create(
        title=title[:100],
        body=body,
        action=action,
        reply_fields=reply_fields or [],
        origin=origin,
        target=target,
        target_grid=target_grid,
        audience=audience,
        deadline=deadline,
        author=actor,
        created_at=_now(now),
    )
    if tags:
        notice.target_tags.set(tags)
    for f in attachments:
        NoticeAttachment.objects.create(notice=notice, file=f, name=getattr(f, "name", "")[:200])
    _event(notice, EventType.CREATED, actor, {"target": target.pk, "audience": audience}, now)
    audit.record(
        AuditLog.Action.CREATE, notice, actor=actor, after={"title": notice.title, "target": target.pk}
    )
    return notice


# ------------------------------------------------------------------------------------------------ send
@transaction.atomic
def send(actor: Any, notice: Notice, now: dt.datetime | None = None) -> Notice:
    """Fan the notice out (receipts and relays, set-based), deliver it straight to households that have the
    phone pages, and hand it to the first level of the cascade."""
    now = _now(now)
    notice = Notice.objects.select_for_update().select_related("origin", "target").get(pk=notice.pk)
    policy.require(actor, "notices.send", notice)
    _check(NOTICE_TRANSITIONS, notice.state, NoticeState.SENT)
    if connection.vendor == "postgresql":
        # one commit of a million rows: no need to wait for its WAL flush (a crash before it lands = not sent)
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
    households = fanout.fan_out(notice)
    if households == 0:
        raise NoticeError({"target": _("发送范围内没有符合条件的家庭")}, code="no_households")
    notice.state, notice.sent_at, notice.households = NoticeState.SENT, now, households
    notice.save(update_fields=["state", "sent_at", "households"])
    top = _top_relays(notice)
    opened = _open(notice, top, now)
    direct = deliver_to_households(notice)
    _event(notice, EventType.SENT, actor, {"households": households, "direct": direct, "relays": opened}, now)
    audit.record(
        AuditLog.Action.TRANSITION,
        notice,
        actor=actor,
        field="state",
        before=NoticeState.DRAFT,
        after={"state": NoticeState.SENT, "households": households},
    )
    return notice


def _top_relays(notice: Notice) -> list[Relay]:
    levels = fanout.relay_levels(notice)
    return list(Relay.objects.filter(notice=notice, level=levels[0])) if levels else []


def deliver_to_households(notice: Notice, *, unread_only: bool = False, subject: str = "") -> int:
    """Message every account holder living in a targeted household (the "phone pages" path). Returns the
    number of accounts."""
    accounts = Resident.objects.filter(status=ResidentStatus.ACTIVE, user__isnull=False)
    if notice.audience == Audience.HOUSEHOLDS and not unread_only:
        # every household of the target: the few residents with an account, found from their side
        where: dict[str, Any] = {f"household__dwelling__{notice.target.kind}_id": notice.target_id}
        if notice.target_grid_id:
            where["household__dwelling__grid_id"] = notice.target_grid_id
        accounts = accounts.filter(household__ended_on__isnull=True, **where)
    else:
        receipts = Receipt.objects.filter(notice=notice)
        if unread_only:
            receipts = receipts.filter(rank=0)
        accounts = accounts.filter(household_id__in=receipts.values("household_id"))
    users = list(accounts.values_list("user_id", flat=True))
    subject = subject or _("通知：%(t)s") % {"t": notice.title}
    if len(users) <= DIRECT_INLINE:
        if users:
            notify(users, subject, notice.body[:140], notice_link(notice), kind="notice")
        return len(users)
    # A big send: the direct messages go to the worker in batches once the send has committed, so the fan-out
    # does not wait for a hundred thousand inbox rows (docs/bench/notices.md).
    from tongxin.notices.tasks import deliver_batch

    for i in range(0, len(users), DIRECT_BATCH):
        batch = users[i : i + DIRECT_BATCH]
        transaction.on_commit(functools.partial(deliver_batch, notice.pk, batch, str(subject)))
    return len(users)


def deliver(notice_id: int, user_ids: list[int], subject: str) -> None:
    """One batch of direct messages (the worker's half of :func:`deliver_to_households`)."""
    notice = Notice.objects.filter(pk=notice_id).first()
    if notice is not None and notice.state == NoticeState.SENT:
        notify(user_ids, subject, notice.body[:140], notice_link(notice), kind="notice", on_commit=False)


# ------------------------------------------------------------------------------- who answers for a level
def responsible(relays: Iterable[Relay]) -> dict[int, set[int]]:
    """``relay pk -> user ids`` of the people who pass a relay on: community staff (community), the grid workers
    of the estate's grids (estate), building leaders (building), entrance leaders — or the party household leader
    where an entrance has none (entrance). At most five queries, whatever the number of relays."""
    by_level: dict[str, list[Relay]] = defaultdict(list)
    for r in relays:
        by_level[r.level].append(r)
    out: dict[int, set[int]] = {}
    if by_level[Level.COMMUNITY]:
        staff = _role_users(
            Role.COMMUNITY_STAFF, region_id__in=[r.region_id for r in by_level[Level.COMMUNITY]]
        )
        for r in by_level[Level.COMMUNITY]:
            out[r.pk] = staff.get(r.region_id, set())
    if by_level[Level.ESTATE]:
        estates = [r.region_id for r in by_level[Level.ESTATE]]
        grids_of: dict[int, set[int]] = defaultdict(set)
        for estate_id, grid_id in Region.objects.filter(
            parent_id__in=estates, kind=RegionKind.BUILDING
        ).values_list("parent_id", "grid_id"):
            grids_of[estate_id].add(grid_id)
        workers = _grid_workers({g for gs in grids_of.values() for g in gs})
        for r in by_level[Level.ESTATE]:
            out[r.pk] = {u for g in grids_of[r.region_id] for u in workers.get(g, set())}
    for level, roles in (
        (Level.BUILDING, (LeaderRole.BUILDING_LEADER,)),
        (Level.ENTRANCE, (LeaderRole.ENTRANCE_LEADER, LeaderRole.PARTY_HOUSEHOLD_LEADER)),
    ):
        if not by_level[level]:
            continue
        column = "building_id" if level == Level.BUILDING else "entrance_id"
        found: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        rows = LeaderAssignment.objects.filter(
            ended_on__isnull=True,
            role__in=roles,
            resident__user__isnull=False,
            **{f"{column}__in": [r.region_id for r in by_level[level]]},
        ).values_list(column, "role", "resident__user_id")
        for place_id, role, user_id in rows:
            found[place_id][role].add(user_id)
        for r in by_level[level]:
            roles_here = found.get(r.region_id, {})
            out[r.pk] = next((set(roles_here[role]) for role in roles if roles_here.get(role)), set())
    return out


def _role_users(role: str, **lookup: Any) -> dict[int, set[int]]:
    key = "region_id" if "region_id__in" in lookup else "grid_id"
    out: dict[int, set[int]] = defaultdict(set)
    for node_id, user_id in RoleAssignment.objects.filter(role=role, **lookup).values_list(key, "user_id"):
        out[node_id].add(user_id)
    return out


def _grid_workers(grid_ids: Iterable[int]) -> dict[int, set[int]]:
    return _role_users(Role.GRID_WORKER, grid_id__in=sorted(grid_ids))


def _open(notice: Notice, relays: list[Relay], now: dt.datetime) -> int:
    """Hand ``relays`` to the people who answer for them; a relay nobody answers for passes on by itself (the
    system delivers to the level below), and so on down. Returns how many relays were handed to someone."""
    handed = 0
    while relays:
        who = responsible(relays)
        automatic = [r for r in relays if not who.get(r.pk)]
        messages: dict[int, list[Relay]] = defaultdict(list)
        for r in relays:
            for uid in who.get(r.pk, ()):
                messages[uid].append(r)
        handed += len(relays) - len(automatic)
        _notify_relays(notice, messages)
        if not automatic:
            break
        Relay.objects.filter(pk__in=[r.pk for r in automatic], state=RelayState.PENDING).update(
            state=RelayState.PASSED_ON, passed_on_at=now, automatic=True
        )
        relays = list(
            Relay.objects.filter(
                notice=notice, parent_region_id__in=[r.region_id for r in automatic], state=RelayState.PENDING
            )
        )
    return handed


def _notify_relays(notice: Notice, messages: dict[int, list[Relay]]) -> None:
    """One message per person, naming how many places they are to pass the notice on to."""
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for uid, relays in messages.items():
        leader = any(r.level in (Level.BUILDING, Level.ENTRANCE) for r in relays)
        groups[("leader" if leader else "staff", len(relays))].append(uid)
    for (kind, n), users in groups.items():
        link = leader_link(notice) if kind == "leader" else coverage_link(notice)
        notify(
            users,
            _("请转达通知：%(t)s") % {"t": notice.title},
            _("请将通知转达到您负责的%(n)d处，并在手机上确认") % {"n": n},
            link,
            kind="notice_relay",
        )


# --------------------------------------------------------------------------------------------- pass on
@transaction.atomic
def pass_on(actor: Any, relay: Relay, now: dt.datetime | None = None) -> Relay:
    """The person answering for ``relay`` confirms they passed the notice on to the level below (the 单元长 to
    the households of the entrance); the level below is handed it."""
    now = _now(now)
    locked = Relay.objects.select_for_update().select_related("notice").get(pk=relay.pk)
    policy.require(actor, "notices.pass_on", locked)
    _check(RELAY_TRANSITIONS, locked.state, RelayState.PASSED_ON)
    locked.state, locked.passed_on_at, locked.passed_on_by = RelayState.PASSED_ON, now, actor
    locked.save(update_fields=["state", "passed_on_at", "passed_on_by"])
    notice = locked.notice
    children = list(
        Relay.objects.filter(
            notice=notice, parent_region_id=locked.region_id, state=RelayState.PENDING
        ).exclude(pk=locked.pk)
    )
    _open(notice, children, now)
    _event(
        notice,
        EventType.PASSED_ON,
        actor,
        {"relay": locked.pk, "level": locked.level, "region": locked.region_id},
        now,
    )
    audit.record(
        AuditLog.Action.TRANSITION,
        locked,
        actor=actor,
        field="state",
        before=RelayState.PENDING,
        after=RelayState.PASSED_ON,
    )
    return locked


# -------------------------------------------------------------------------------------------- receipts
def record_receipt(
    notice_id: int,
    household_id: int,
    status: str,
    channel: str,
    *,
    by_id: int | None = None,
    reply: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Move one household's receipt forward to ``status`` (never back). One UPDATE; True when it moved."""
    rank = RECEIPT_RANK[status]
    if connection.vendor == "postgresql":
        # A receipt is not worth a WAL flush wait: were the server to crash in the next ~200 ms the household
        # would simply read it again. Local to this transaction (the caller's, or the one opened here).
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            return _advance(notice_id, household_id, status, rank, channel, by_id, reply, now)
    return _advance(notice_id, household_id, status, rank, channel, by_id, reply, now)


def _advance(
    notice_id: int,
    household_id: int,
    status: str,
    rank: int,
    channel: str,
    by_id: int | None,
    reply: dict[str, str] | None,
    now: dt.datetime | None,
) -> bool:
    fields: dict[str, Any] = {
        "status": status,
        "rank": rank,
        "channel": channel,
        "at": _now(now),
        "recorded_by_id": by_id,
    }
    if reply is not None:
        fields["reply"] = reply
    return bool(
        Receipt.objects.filter(household_id=household_id, notice_id=notice_id, rank__lt=rank).update(**fields)
    )


@transaction.atomic
def record_for_households(
    actor: Any,
    notice: Notice,
    household_ids: Sequence[int],
    channel: str,
    wanted: str = ReceiptStatus.CONFIRMED,
    now: dt.datetime | None = None,
) -> int:
    """Record many households' answers at once (a leader's round of the entrance, a gateway's delivery report):
    one UPDATE over the receipts the actor may record. Returns how many moved forward."""
    notice = Notice.objects.get(pk=notice.pk)
    policy.require(actor, "notices.record_receipts", notice)
    status = _status_for(notice, wanted)
    if status == ReceiptStatus.REPLIED:
        raise NoticeError({"status": _("回复须逐户填写")})
    rank = RECEIPT_RANK[status]
    allowed = policy.restrict(
        Receipt.objects.filter(notice=notice, household_id__in=list(household_ids)),
        actor,
        "notices.record_receipt",
    )
    if notice.state != NoticeState.SENT:
        raise NoticeError(_("通知已结束"), code="closed")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
    moved = allowed.filter(rank__lt=rank).update(
        status=status, rank=rank, channel=channel, at=_now(now), recorded_by_id=getattr(actor, "pk", None)
    )
    if moved:
        _event(
            notice,
            EventType.PROXY_RECEIPT,
            actor,
            {"households": moved, "channel": channel, "status": status},
            now,
        )
    return moved


def _clean_reply(notice: Notice, reply: dict[str, Any] | None) -> dict[str, str] | None:
    if not notice.asks_reply:
        return None
    keys = {f["key"]: f["label"] for f in notice.reply_fields or []}
    values = {k: str((reply or {}).get(k, "")).strip()[:REPLY_MAX] for k in keys}
    missing = [keys[k] for k, v in values.items() if not v]
    if missing:
        raise NoticeError({"reply": _("请填写：%(f)s") % {"f": "、".join(missing)}})
    return values


def _status_for(notice: Notice, wanted: str) -> str:
    """The status a household's answer reaches: reading is always possible; confirming only where asked; a
    reply where the notice asks for one."""
    if wanted == ReceiptStatus.READ:
        return ReceiptStatus.READ
    if notice.asks_reply:
        return ReceiptStatus.REPLIED
    if notice.action == Action.CONFIRM:
        return ReceiptStatus.CONFIRMED
    return ReceiptStatus.READ


@transaction.atomic
def respond(
    user: Any,
    notice: Notice,
    wanted: str = ReceiptStatus.READ,
    reply: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """The household of ``user`` reads, confirms or replies to ``notice`` on its phone."""
    from tongxin.notices.policy import own_household_id

    notice = Notice.objects.get(pk=notice.pk)
    policy.require(user, "notices.respond", notice)
    household_id = own_household_id(user)
    assert household_id is not None  # the policy's where clause needs one
    status = _status_for(notice, wanted)
    clean = _clean_reply(notice, reply) if status == ReceiptStatus.REPLIED else None
    return record_receipt(
        notice.pk, household_id, status, ReceiptChannel.APP, by_id=None, reply=clean, now=now
    )


@transaction.atomic
def record_for_household(
    actor: Any,
    receipt: Receipt,
    channel: str,
    wanted: str = ReceiptStatus.CONFIRMED,
    reply: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """A leader (or staff) records a door-to-door or phone answer on the household's behalf."""
    receipt = Receipt.objects.select_related("notice").get(pk=receipt.pk)
    policy.require(actor, "notices.record_receipt", receipt)
    if channel not in PROXY_CHANNELS:
        raise NoticeError({"channel": _("请选择入户、电话或微信群")})
    notice = receipt.notice
    status = _status_for(notice, wanted)
    clean = _clean_reply(notice, reply) if status == ReceiptStatus.REPLIED else None
    moved = record_receipt(
        notice.pk, receipt.household_id, status, channel, by_id=actor.pk, reply=clean, now=now
    )
    if moved:
        _event(
            notice,
            EventType.PROXY_RECEIPT,
            actor,
            {"receipt": receipt.pk, "channel": channel, "status": status},
            now,
        )
        audit.record(
            AuditLog.Action.UPDATE,
            receipt,
            actor=actor,
            field="status",
            before=receipt.status,
            after={"status": status, "channel": channel},
        )
    return moved


# -------------------------------------------------------------------------------- reminders, escalation
def _pending_relays_open(notice: Notice) -> list[Relay]:
    """Pending relays whose level above has passed the notice on (or that are the top level)."""
    pending = list(Relay.objects.filter(notice=notice, state=RelayState.PENDING))
    if not pending:
        return []
    passed = set(
        Relay.objects.filter(notice=notice, state=RelayState.PASSED_ON).values_list("region_id", flat=True)
    )
    top = fanout.relay_levels(notice)[:1]
    return [r for r in pending if r.level in top or r.parent_region_id in passed]


@transaction.atomic
def remind(actor: Any, notice: Notice, now: dt.datetime | None = None) -> dict[str, int]:
    """Remind the laggards: whoever has a relay to pass on, and households with the phone pages that have not
    read it. ``actor`` None is the scheduled reminder."""
    now = _now(now)
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if actor is not None:
        policy.require(actor, "notices.remind", notice)
    if notice.state != NoticeState.SENT:
        raise NoticeError(_("通知未发送或已结束"), code="not_sent")
    relays = _pending_relays_open(notice)
    who = responsible(relays)
    messages: dict[int, list[Relay]] = defaultdict(list)
    for r in relays:
        for uid in who.get(r.pk, ()):
            messages[uid].append(r)
    _notify_relays(notice, messages)
    Relay.objects.filter(pk__in=[r.pk for r in relays]).update(reminded_at=now)
    households = deliver_to_households(
        notice, unread_only=True, subject=_("提醒：请阅读通知 %(t)s") % {"t": notice.title}
    )
    notice.reminded_at = now
    notice.save(update_fields=["reminded_at"])
    counts = {"relays": len(relays), "leaders": len(messages), "accounts": households}
    _event(notice, EventType.REMINDED, actor, counts, now)
    return counts


@transaction.atomic
def escalate(notice: Notice, now: dt.datetime | None = None) -> dict[str, int]:
    """After the deadline, tell the level above about every level still behind: a pending entrance or an
    entrance with households not reached goes to its building leaders and grid workers, a pending building to
    its grid workers, a pending estate to the community staff, a pending community to the subdistrict."""
    now = _now(now)
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.state != NoticeState.SENT or notice.escalated_at is not None:
        return {"relays": 0, "recipients": 0}
    behind_entrances = set(
        Receipt.objects.filter(notice=notice, rank=0).values_list("entrance_id", flat=True).distinct()
    )
    lagging = list(
        Relay.objects.filter(notice=notice).filter(
            Q(state=RelayState.PENDING) | Q(level=Level.ENTRANCE, region_id__in=behind_entrances)
        )
    )
    per_user: dict[int, int] = defaultdict(int)
    building_relays = {
        r.region_id: r
        for r in Relay.objects.filter(
            notice=notice,
            level=Level.BUILDING,
            region_id__in={r.parent_region_id for r in lagging if r.level == Level.ENTRANCE},
        )
    }
    leaders = responsible(building_relays.values())
    workers = _grid_workers({r.grid_id for r in lagging if r.grid_id})
    staff = _role_users(
        Role.COMMUNITY_STAFF, region_id__in=[r.community_id for r in lagging if r.level == Level.ESTATE]
    )
    admins = _role_users(
        Role.SUBDISTRICT_ADMIN,
        region_id__in=[r.subdistrict_id for r in lagging if r.level == Level.COMMUNITY],
    )
    for r in lagging:
        up: set[int] = set()
        if r.level == Level.ENTRANCE:
            b = building_relays.get(r.parent_region_id or 0)
            up |= leaders.get(b.pk, set()) if b else set()
            up |= workers.get(r.grid_id or 0, set())
        elif r.level == Level.BUILDING:
            up |= workers.get(r.grid_id or 0, set())
        elif r.level == Level.ESTATE:
            up |= staff.get(r.community_id or 0, set())
        else:
            up |= admins.get(r.subdistrict_id or 0, set()) | {notice.author_id}
        for uid in up:
            per_user[uid] += 1
    by_count: dict[int, list[int]] = defaultdict(list)
    for uid, n in per_user.items():
        by_count[n].append(uid)
    for n, users in by_count.items():
        notify(
            users,
            _("通知逾期未达：%(t)s") % {"t": notice.title},
            _("您的下级有%(n)d处在截止时间前未转达或仍有家庭未读，请督促") % {"n": n},
            coverage_link(notice),
            kind="notice_escalate",
        )
    Relay.objects.filter(pk__in=[r.pk for r in lagging]).update(escalated_at=now)
    notice.escalated_at = now
    notice.save(update_fields=["escalated_at"])
    counts = {"relays": len(lagging), "recipients": len(per_user)}
    _event(notice, EventType.ESCALATED, None, counts, now)
    return counts


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """The scheduled pass: remind once two thirds of the way to the deadline, escalate once past it."""
    now = _now(now)
    reminded = escalated = 0
    due = Notice.objects.filter(state=NoticeState.SENT, deadline__isnull=False, sent_at__isnull=False)
    for notice in due.filter(escalated_at__isnull=True).order_by("pk"):
        assert notice.deadline is not None and notice.sent_at is not None
        if now >= notice.deadline:
            escalate(notice, now)
            escalated += 1
        elif (
            notice.reminded_at is None and now >= notice.sent_at + (notice.deadline - notice.sent_at) * 2 / 3
        ):
            remind(None, notice, now)
            reminded += 1
    return {"reminded": reminded, "escalated": escalated}


@transaction.atomic
def close(actor: Any, notice: Notice, now: dt.datetime | None = None) -> Notice:
    now = _now(now)
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    policy.require(actor, "notices.close", notice)
    _check(NOTICE_TRANSITIONS, notice.state, NoticeState.CLOSED)
    notice.state, notice.closed_at = NoticeState.CLOSED, now
    notice.save(update_fields=["state", "closed_at"])
    _event(notice, EventType.CLOSED, actor, {}, now)
    audit.record(
        AuditLog.Action.TRANSITION,
        notice,
        actor=actor,
        field="state",
        before=NoticeState.SENT,
        after=NoticeState.CLOSED,
    )
    return notice
