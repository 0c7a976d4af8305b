"""Demo rows for leaders and notices.

* 党员楼长制 (seed 001) and 双楼长 (seed 004): a building leader on every building of 富丰新城 and 锦绣江山 (a party
  member living in the building where there is one), a dual-registered cadre next to the resident leader on every
  third building, an entrance leader on every entrance, a floor steward and a party household leader here and
  there. Leaders get an account (usable password only for the two demo logins ``loudong`` and ``danyuan``).
* One notice sent two days ago from 满庭春社区 to 锦绣江山 about the 安心码 (seed 003) with partial coverage: the
  estate passed on by its grid worker, most buildings and about half the entrances passed on by their leaders,
  about 40 % of households reached (on their phones, door to door, by phone); its deadline is tomorrow.
* A draft notice of 大新社区 to 富丰新城.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from tongxin.core import demo
from tongxin.core.models import User
from tongxin.notices import services
from tongxin.notices.choices import RECEIPT_RANK, LeaderRole, Level, ReceiptChannel, ReceiptStatus, RelayState
from tongxin.notices.models import LeaderAssignment, Receipt, Relay
from tongxin.party.choices import MemberType
from tongxin.party.models import PartyMember
from tongxin.people.models import Resident
from tongxin.regions.models import Region

ESTATES = ("锦绣江山", "富丰新城")
DEMO_LEADERS = {
    "loudong": ("锦绣江山", LeaderRole.BUILDING_LEADER),
    "danyuan": ("锦绣江山", LeaderRole.ENTRANCE_LEADER),
}


def load(rng: random.Random, out: Any) -> None:
    if LeaderAssignment.objects.exists():
        out.write("notices demo already loaded")
        return
    leaders = _leaders(rng)
    out.write(f"notices demo: {leaders} leaders on the buildings of {'、'.join(ESTATES)}")
    _notices(rng, out)


def _leaders(rng: random.Random) -> int:
    from tongxin.core.demo import fast_insert

    estates = list(Region.objects.filter(kind="estate", name__in=ESTATES))
    buildings = list(Region.objects.filter(kind="building", parent__in=estates).order_by("path"))
    entrances: dict[int, list[Region]] = defaultdict(list)
    for e in Region.objects.filter(kind="entrance", parent__in=buildings).order_by("path"):
        entrances[e.parent_id].append(e)  # type: ignore[index]
    residents: dict[int, list[tuple[int, int, int | None]]] = defaultdict(
        list
    )  # building -> (resident, entrance, floor)
    for pk, building_id, entrance_id, floor in (
        Resident.objects.filter(status="active", dwelling__building__in=buildings, birth_date__isnull=False)
        .filter(birth_date__lte=demo.REFERENCE_DATE.replace(year=demo.REFERENCE_DATE.year - 25))
        .order_by("pk")
        .values_list("pk", "dwelling__building_id", "dwelling__entrance_id", "dwelling__floor")
    ):
        residents[building_id].append((pk, entrance_id, floor))
    members = set(PartyMember.objects.filter(active=True).values_list("resident_id", flat=True))
    cadres_by_community: dict[int, list[int]] = defaultdict(list)
    for pk, community_id in PartyMember.objects.filter(
        active=True, member_type=MemberType.DUAL_REGISTERED, resident__status="active"
    ).values_list("resident_id", "resident__dwelling__community_id"):
        cadres_by_community[community_id].append(pk)
    rows: list[LeaderAssignment] = []
    used: set[int] = set()
    today = timezone.localdate()
    for i, b in enumerate(buildings):
        ids = b.place_ids()
        place = {
            "subdistrict_id": ids[0],
            "community_id": ids[1],
            "estate_id": ids[2],
            "building_id": b.pk,
            "grid_id": b.grid_id,
        }
        people = residents.get(b.pk, [])
        if not people:
            continue
        party = [p for p in people if p[0] in members] or people
        leader = rng.choice(party)
        used.add(leader[0])
        started = today - dt.timedelta(days=rng.randrange(60, 1500))
        rows.append(
            LeaderAssignment(
                role=LeaderRole.BUILDING_LEADER,
                resident_id=leader[0],
                place_id=b.pk,
                entrance_id=None,
                started_on=started,
                **place,
            )
        )
        cadres = [c for c in cadres_by_community.get(ids[1], []) if c not in used]
        if i % 3 == 0 and cadres:  # 双楼长: a dual-registered cadre next to the resident leader
            cadre = rng.choice(cadres)
            used.add(cadre)
            rows.append(
                LeaderAssignment(
                    role=LeaderRole.BUILDING_LEADER,
                    resident_id=cadre,
                    place_id=b.pk,
                    cadre=True,
                    entrance_id=None,
                    started_on=started,
                    **place,
                )
            )
        for j, e in enumerate(entrances.get(b.pk, [])):
            here = [p for p in people if p[1] == e.pk and p[0] not in used]
            if not here:
                continue
            chosen = rng.choice(here)
            used.add(chosen[0])
            rows.append(
                LeaderAssignment(
                    role=LeaderRole.ENTRANCE_LEADER,
                    resident_id=chosen[0],
                    place_id=e.pk,
                    entrance_id=e.pk,
                    started_on=started,
                    **place,
                )
            )
            party_here = [p for p in here if p[0] in members and p[0] not in used]
            if party_here and j % 2 == 0:
                phl = rng.choice(party_here)
                used.add(phl[0])
                rows.append(
                    LeaderAssignment(
                        role=LeaderRole.PARTY_HOUSEHOLD_LEADER,
                        resident_id=phl[0],
                        place_id=e.pk,
                        entrance_id=e.pk,
                        started_on=started,
                        **place,
                    )
                )
            stewards = [p for p in here if p[2] and p[0] not in used]
            if stewards and (i + j) % 4 == 0:
                fs = rng.choice(stewards)
                used.add(fs[0])
                rows.append(
                    LeaderAssignment(
                        role=LeaderRole.FLOOR_STEWARD,
                        resident_id=fs[0],
                        place_id=e.pk,
                        entrance_id=e.pk,
                        floor=fs[2],
                        started_on=started,
                        **place,
                    )
                )
    fast_insert(LeaderAssignment, rows)
    _accounts(rows)
    return len(rows)


def _accounts(rows: list[LeaderAssignment]) -> None:
    """Accounts for leaders without one; the two demo logins get the demo password."""
    without = dict(
        Resident.objects.filter(pk__in={a.resident_id for a in rows}, user__isnull=True).values_list(
            "pk", "name"
        )
    )
    if not without:
        return
    demo_users: dict[int, str] = {}
    estate_of = {e.pk: e.name for e in Region.objects.filter(kind="estate", name__in=ESTATES)}
    for username, (estate, role) in DEMO_LEADERS.items():
        found = next(
            (
                a
                for a in rows
                if a.role == role
                and estate_of.get(a.estate_id) == estate
                and a.resident_id in without
                and a.resident_id not in demo_users
                and not a.cadre
            ),
            None,
        )
        if found is not None:
            demo_users[found.resident_id] = username
    password = make_password(demo.PASSWORD)
    users = [
        User(
            username=demo_users.get(pk, f"leader{pk}"),
            display_name=name,
            is_staff=False,
            password=password if pk in demo_users else "!",
        )
        for pk, name in without.items()
    ]
    User.objects.bulk_create(users, batch_size=1000)
    by_name = dict(
        User.objects.filter(username__in=[u.username for u in users]).values_list("username", "pk")
    )
    objs = list(Resident.objects.filter(pk__in=list(without)))
    for r in objs:
        r.user_id = by_name[demo_users.get(r.pk, f"leader{r.pk}")]
    Resident.objects.bulk_update(objs, ["user"], batch_size=1000)


def _notices(rng: random.Random, out: Any) -> None:
    staff = User.objects.filter(username="mtc").first()
    daxin = User.objects.filter(username="daxin").first()
    estate = Region.objects.filter(kind="estate", name="锦绣江山").first()
    fufeng = Region.objects.filter(kind="estate", name="富丰新城").first()
    if staff is None or estate is None:
        return
    now = timezone.now()
    sent = now - dt.timedelta(days=2, hours=3)
    notice = services.create(
        staff,
        title="关于启用“安心码”的通知",
        body="各位居民：社区即日起启用“安心码”。请各户户主按说明用手机扫码登记家庭成员信息，老年人和没有智能手机的"
        "家庭由单元长上门协助登记。如有疑问请联系本单元单元长或网格员。",
        target=estate,
        action="confirm",
        deadline=now + dt.timedelta(days=1),
        now=sent - dt.timedelta(hours=1),
    )
    notice = services.send(staff, notice, now=sent)
    # the grid worker passed the estate on within the hour, most building leaders the same day
    estate_relay = Relay.objects.get(notice=notice, level=Level.ESTATE)
    worker = User.objects.filter(username="wangge3").first()
    Relay.objects.filter(pk=estate_relay.pk).update(
        state=RelayState.PASSED_ON, passed_on_at=sent + dt.timedelta(minutes=40), passed_on_by=worker
    )
    leader_user = dict(
        LeaderAssignment.objects.filter(ended_on__isnull=True, resident__user__isnull=False).values_list(
            "place_id", "resident__user_id"
        )
    )
    for level, share in ((Level.BUILDING, 0.8), (Level.ENTRANCE, 0.5)):
        for r in Relay.objects.filter(notice=notice, level=level, state=RelayState.PENDING).order_by("pk"):
            if rng.random() < share and r.region_id in leader_user:
                at = sent + dt.timedelta(minutes=rng.randrange(60, 60 * 30))
                Relay.objects.filter(pk=r.pk).update(
                    state=RelayState.PASSED_ON, passed_on_at=at, passed_on_by_id=leader_user[r.region_id]
                )
    # about 40 % of the households reached; in entrances passed on, the 单元长 recorded some door to door
    passed = set(
        Relay.objects.filter(notice=notice, level=Level.ENTRANCE, state=RelayState.PASSED_ON).values_list(
            "region_id", flat=True
        )
    )
    by_status: dict[tuple[str, str, int | None], list[int]] = defaultdict(list)
    for pk, entrance_id in Receipt.objects.filter(notice=notice).values_list("pk", "entrance_id"):
        chance = 0.65 if entrance_id in passed else 0.12
        if rng.random() >= chance:
            continue
        if entrance_id in passed and rng.random() < 0.45:
            proxy: str = rng.choice([ReceiptChannel.DOOR, ReceiptChannel.DOOR, ReceiptChannel.PHONE])
            by_status[(ReceiptStatus.CONFIRMED, proxy, leader_user.get(entrance_id))].append(pk)
        else:
            answer: str = ReceiptStatus.CONFIRMED if rng.random() < 0.7 else ReceiptStatus.READ
            by_status[(answer, ReceiptChannel.APP, None)].append(pk)
    for (status, channel, by), ids in by_status.items():
        Receipt.objects.filter(pk__in=ids).update(
            status=status,
            rank=RECEIPT_RANK[status],
            channel=channel,
            recorded_by_id=by,
            at=sent + dt.timedelta(hours=rng.randrange(1, 40)),
        )
    reached = Receipt.objects.filter(notice=notice, rank__gt=0).count()
    out.write(f"notices demo: “{notice.title}” sent to {notice.households} households, {reached} reached")
    if daxin is not None and fufeng is not None:
        services.create(
            daxin,
            title="楼道会议通知",
            body="本周六上午9点在各楼栋一楼大堂召开楼道会议，讨论电动车充电桩扩建方案，请各户派代表参加。",
            target=fufeng,
            action="sign_up",
            reply_fields=services.parse_reply_fields("参会人数"),
        )
