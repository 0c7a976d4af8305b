"""Party's part of the demo foundation: the subdistrict working committee, 满庭春社区's 大党委 with grid branches,
building party groups and party household leaders, 大新社区's branch with 党员楼长, ~600 party members (dual-
registered members on service posts, resident, frail and mobile members), co-building units and service posts.

Needs from ``ctx.data``: ``subdistrict``, ``communities``, ``grids``, ``buildings`` (regions) and ``person_of``,
``tags`` (people). Leaves: ``posts`` (community -> code -> ServicePost), ``members`` (community -> members),
``party_resident_ids`` and ``volunteer_resident`` (the dual-registered member on 满庭春's patrol post whose
login is ``dangyuan``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

from tongxin.core import demo
from tongxin.core.demo import DemoContext
from tongxin.party.choices import CoBuildingKind, MemberType, OrganisationKind
from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost
from tongxin.people.choices import ResidenceStatus
from tongxin.people.models import Resident
from tongxin.people.pii import set_phone
from tongxin.regions.models import Region

BATCH = 2000

SERVICE_POSTS = (
    ("patrol", "治安巡逻", "夜间和节假日巡查小区，发现隐患及时报告网格员"),
    ("traffic", "交通值守", "上下学高峰在小区出入口和路口疏导交通"),
    ("mediation", "矛盾调解", "化解邻里纠纷、停车位等矛盾"),
    ("policy", "政策宣传", "入户宣讲政策，收集居民意见"),
    ("environment", "环境整治", "楼道清理、垃圾分类督导、卫生死角整治"),
    ("civility", "文明创建", "文明城市创建、劝导不文明行为"),
    ("convenience", "便民助民", "代办代购、维修小事等便民服务"),
    ("care", "关爱帮扶", "走访独居老人、残疾人、困难家庭"),
    ("legal", "法律服务", "法律咨询、送法上门"),
    ("culture", "文体活动", "组织文艺、体育和节日活动"),
)
# 包保单位 on 满庭春社区's 大党委 (seed 000), then partners that are not committee members.
CO_BUILDING_UNITS = (
    ("市卫健委", CoBuildingKind.ADOPTING, True, 5),
    ("市教育局", CoBuildingKind.ADOPTING, True, 5),
    ("汉江中级法院", CoBuildingKind.ADOPTING, True, 4),
    ("市住建局", CoBuildingKind.ADOPTING, True, 3),
    ("市城管执法局", CoBuildingKind.ADOPTING, True, 3),
    ("市民政局", CoBuildingKind.ADOPTING, True, 2),
    ("市人社局", CoBuildingKind.ADOPTING, True, 2),
    ("国网仙桃市供电公司", CoBuildingKind.PARTNER, False, 2),
    ("仙桃市第一人民医院", CoBuildingKind.RESIDENT_UNIT, False, 3),
    ("干河街道中心学校", CoBuildingKind.RESIDENT_UNIT, False, 2),
)
OTHER_EMPLOYERS = ("市税务局", "市农业农村局", "市自然资源局", "中国银行仙桃支行", "仙桃职业学院", "市统计局")


def foundation(ctx: DemoContext) -> None:
    loader = PartyLoader(ctx)
    ctx.timed("organisations", loader._organisations)
    members = loader.members
    ctx.data["party_resident_ids"] = {m.resident.pk for ms in members.values() for m in ms}
    patrol = loader.posts["满庭春社区"]["patrol"]
    ctx.data["volunteer_resident"] = next(
        m.resident
        for m in members["满庭春社区"]
        if m.member_type == MemberType.DUAL_REGISTERED
        and m.service_post_id == patrol.pk
        and m.resident.phone_hash
    )


class PartyLoader:
    def __init__(self, ctx: DemoContext) -> None:
        self.rng, self.scale, self.out = ctx.rng, ctx.scale, ctx.out
        self.names, self.phones = ctx.names, ctx.phones
        self.n = ctx.n
        self.subdistrict: Region = ctx.data["subdistrict"]
        self.communities: dict[str, Region] = ctx.data["communities"]
        self.grids: dict[str, list[Any]] = ctx.data["grids"]
        self.buildings: dict[str, list[Any]] = ctx.data["buildings"]
        self.person_of: dict[int, Any] = ctx.data["person_of"]
        self.tags: dict[str, Any] = ctx.data["tags"]
        self.posts: dict[str, dict[str, ServicePost]] = ctx.data.setdefault("posts", {})
        self.members: dict[str, list[PartyMember]] = ctx.data.setdefault("members", defaultdict(list))

    def _organisations(self) -> None:
        rng = self.rng
        committee = Organisation.objects.create(
            kind=OrganisationKind.SUBDISTRICT_COMMITTEE, name="干河街道党工委", region=self.subdistrict
        )
        for name, community in self.communities.items():
            self.posts[name] = {
                code: ServicePost.objects.create(community=community, code=code, name=pname, description=desc)
                for code, pname, desc in SERVICE_POSTS
            }
        self._mantingchun_party(committee, rng)
        self._daxin_party(committee, rng)

    def _pick(
        self, pool: list[Resident], count: int, taken: set[int], ages: tuple[int, int]
    ) -> list[Resident]:
        eligible = [
            r
            for r in pool
            if r.pk not in taken
            and r.residence_status != ResidenceStatus.FOREIGN
            and ages[0] <= self.person_of[r.pk].age <= ages[1]
            and "watched" not in self.person_of[r.pk].tags
        ]
        chosen = self.rng.sample(eligible, min(count, len(eligible)))
        taken.update(r.pk for r in chosen)
        return chosen

    def _joined(self, age: int) -> dt.date:
        years_ago = self.rng.randint(1, max(1, age - 20))
        return demo.REFERENCE_DATE - dt.timedelta(days=365 * years_ago + self.rng.randrange(365))

    def _mantingchun_party(self, committee: Organisation, rng: random.Random) -> None:
        cname = "满庭春社区"
        community = self.communities[cname]
        big = Organisation.objects.create(
            kind=OrganisationKind.COMMUNITY_COMMITTEE,
            name="满庭春社区大党委",
            parent=committee,
            region=community,
        )
        infos = self.buildings[cname]
        group_of: dict[int, Organisation] = {}
        groups_per_grid = (4, 4, 3)  # 11 building party groups (seed 000)
        branches = []
        for g_index, grid in enumerate(self.grids[cname]):
            branch = Organisation.objects.create(
                kind=OrganisationKind.GRID_BRANCH, name=f"满庭春社区{grid.name}党支部", parent=big, grid=grid
            )
            branches.append(branch)
            in_grid = [i for i in infos if i.grid.pk == grid.pk]
            n_groups = min(groups_per_grid[g_index], len(in_grid))
            for k in range(n_groups):
                part = in_grid[k * len(in_grid) // n_groups : (k + 1) * len(in_grid) // n_groups]
                first, last = part[0], part[-1]
                if first is last:
                    where = f"{first.estate.name}{first.region.name}"
                elif first.estate.pk == last.estate.pk:
                    where = f"{first.estate.name}{first.region.number}—{last.region.number}栋"
                else:
                    where = f"{first.estate.name}{first.region.name}—{last.estate.name}{last.region.name}"
                group = Organisation.objects.create(
                    kind=OrganisationKind.BUILDING_GROUP,
                    name=f"{grid.name}第{k + 1}楼栋党小组（{where}）",
                    parent=branch,
                    region=first.region,
                )
                for info in part:
                    group_of[info.region.pk] = group
        pool = [r for info in infos for r in info.residents]
        building_of = {r.pk: info for info in infos for r in info.residents}
        taken: set[int] = set()
        units = self._co_building_units(community)
        posts = list(self.posts[cname].values())
        members: list[PartyMember] = []

        def member(r: Resident, kind: str, **extra: Any) -> PartyMember:
            m = PartyMember(
                resident=r,
                member_type=kind,
                organisation=group_of[building_of[r.pk].region.pk],
                joined_on=self._joined(self.person_of[r.pk].age),
                **extra,
            )
            members.append(m)
            return m

        # ~400 dual-registered members ("八小时外"): every one holds one of the 10 posts, round robin
        dual = self._pick(pool, self.n(400, 12), taken, (25, 58))
        unit_weights = [u[3] for u in CO_BUILDING_UNITS]
        for i, r in enumerate(dual):
            if rng.random() < 0.78:
                unit = rng.choices(units, weights=unit_weights)[0]
                employer: dict[str, Any] = {"employer": unit, "employer_name": unit.name}
            else:
                employer = {"employer_name": rng.choice(OTHER_EMPLOYERS)}
            reported = dt.date(2018, 3, 1) + dt.timedelta(days=rng.randrange(7 * 365))
            member(
                r,
                MemberType.DUAL_REGISTERED,
                service_post=posts[i % len(posts)],
                reported_in_on=reported,
                **employer,
            )
        for r in self._pick(pool, self.n(150, 6), taken, (28, 82)):
            member(r, MemberType.RESIDENT, service_post=rng.choice(posts) if rng.random() < 0.5 else None)
        for r in self._pick(pool, self.n(25, 2), taken, (78, 95)):
            member(r, MemberType.ELDERLY_FRAIL)
        migrants = [r for r in pool if r.residence_status == ResidenceStatus.MIGRANT]
        for r in self._pick(migrants, self.n(30, 2), taken, (22, 50)):
            member(r, MemberType.MOBILE, service_post=rng.choice(posts) if rng.random() < 0.3 else None)
        PartyMember.objects.bulk_create(members, batch_size=BATCH)
        self.members[cname] = members
        self._senior_talent(members)
        # secretaries: a resident member leads the committee and each branch; a dual-registered member each group
        residents_m = [m for m in members if m.member_type == MemberType.RESIDENT]
        big.secretary = residents_m[0] if residents_m else members[0]
        big.save(update_fields=["secretary"])
        for branch in branches:
            mine = [m for m in residents_m if m.organisation and m.organisation.parent_id == branch.pk]
            if mine:
                branch.secretary = mine[0]
                branch.save(update_fields=["secretary"])
        for group in {g.pk: g for g in group_of.values()}.values():
            mine_all = [m for m in members if m.organisation_id == group.pk]
            leaders = [m for m in mine_all if m.member_type == MemberType.DUAL_REGISTERED] or mine_all
            if not leaders:
                continue
            group.secretary = leaders[0]
            group.save(update_fields=["secretary"])
            # two party household leaders (党员中心户) per group, from its resident members
            for m in [m for m in mine_all if m.member_type == MemberType.RESIDENT][:2]:
                r = m.resident
                Organisation.objects.create(
                    kind=OrganisationKind.HOUSEHOLD_LEADER,
                    name=f"{r.name}党员中心户",
                    parent=group,
                    region=building_of[r.pk].region,
                    secretary=m,
                )

    def _senior_talent(self, members: list[PartyMember]) -> None:
        """Many 五老 are old party members: tag 40% of members over 65 who are not tagged yet."""
        through = Resident.tags.through
        tag = self.tags["senior_talent"]
        links = []
        for m in members:
            p = self.person_of[m.resident.pk]
            if p.age >= 65 and "senior_talent" not in p.tags and self.rng.random() < 0.4:
                p.tags.add("senior_talent")
                links.append(through(resident_id=m.resident.pk, tag_id=tag.pk))
        through.objects.bulk_create(links)

    def _daxin_party(self, committee: Organisation, rng: random.Random) -> None:
        cname = "大新社区"
        community = self.communities[cname]
        branch = Organisation.objects.create(
            kind=OrganisationKind.COMMUNITY_COMMITTEE,
            name="大新社区党支部",
            parent=committee,
            region=community,
        )
        infos = self.buildings[cname]
        posts = list(self.posts[cname].values())
        taken: set[int] = set()
        members: list[PartyMember] = []
        group_of: dict[int, Organisation] = {}
        leaders: dict[int, PartyMember] = {}
        for grid in self.grids[cname]:
            gb = Organisation.objects.create(
                kind=OrganisationKind.GRID_BRANCH, name=f"{grid.name}党支部", parent=branch, grid=grid
            )
            for info in [i for i in infos if i.grid.pk == grid.pk]:
                group_of[info.region.pk] = Organisation.objects.create(
                    kind=OrganisationKind.BUILDING_GROUP,
                    name=f"富丰新城{info.region.name}楼道党小组",
                    parent=gb,
                    region=info.region,
                )
        # 党员楼长: one party member living in each building leads it (seed 001)
        kinds = [MemberType.RESIDENT, MemberType.MOBILE, MemberType.DUAL_REGISTERED]
        for info in infos:
            for r in self._pick(info.residents, 1, taken, (30, 65)):
                m = PartyMember(
                    resident=r,
                    member_type=rng.choice(kinds),
                    organisation=group_of[info.region.pk],
                    joined_on=self._joined(self.person_of[r.pk].age),
                    service_post=rng.choice(posts),
                )
                members.append(m)
                leaders[info.region.pk] = m
        # the rest of the 67 members of the 党员创熟基地: resident, mobile and 机关 (dual-registered) members
        pool = [r for info in infos for r in info.residents]
        building_of = {r.pk: info for info in infos for r in info.residents}
        rest = self.n(67, len(infos) + 3) - len(members)
        for r in self._pick(pool, max(0, rest), taken, (22, 75)):
            kind = rng.choices(kinds, weights=(40, 45, 15))[0]
            members.append(
                PartyMember(
                    resident=r,
                    member_type=kind,
                    organisation=group_of[building_of[r.pk].region.pk],
                    joined_on=self._joined(self.person_of[r.pk].age),
                    employer_name=rng.choice(OTHER_EMPLOYERS) if kind == MemberType.DUAL_REGISTERED else "",
                    service_post=rng.choice(posts) if rng.random() < 0.7 else None,
                )
            )
        PartyMember.objects.bulk_create(members, batch_size=BATCH)
        self.members[cname] = members
        for building_pk, m in leaders.items():
            group = group_of[building_pk]
            group.secretary = m
            group.save(update_fields=["secretary"])
        if members:
            branch.secretary = members[0]
            branch.save(update_fields=["secretary"])

    # ----- units, departments, property ------------------------------------------------------------------
    def _co_building_units(self, community: Region) -> list[CoBuildingUnit]:
        units = []
        for name, kind, on_committee, _weight in CO_BUILDING_UNITS:
            unit = CoBuildingUnit(name=name, kind=kind, committee_member=on_committee)
            unit.liaison_name = self.names.full(self.rng.random() < 0.4)
            set_phone(unit, self.phones.make(), prefix="liaison_phone")
            unit.save()
            unit.communities.add(community)
            units.append(unit)
        return units
