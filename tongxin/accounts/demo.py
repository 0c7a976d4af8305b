"""Accounts' part of the demo foundation: one login per role (docs/demo.md lists them, ``manage.py demo_logins``
prints them), all with the password ``tongxin.core.demo.PASSWORD``, and the staff logins' SMS numbers.

Needs from ``ctx.data``: ``subdistrict``, ``communities``, ``grids``, ``estates``, ``buildings``, ``departments``,
``property_company`` (regions), ``person_of`` (people), ``volunteer_resident`` and ``party_resident_ids``
(party).
"""

from __future__ import annotations

import random
from typing import Any

from django.contrib.auth.hashers import make_password

from tongxin.core import demo, notifications, pii
from tongxin.core.demo import DemoContext
from tongxin.core.models import NotificationAddress, User
from tongxin.people.choices import ResidenceStatus
from tongxin.people.models import Resident
from tongxin.regions.models import RoleAssignment

# Staff logins get an SMS number on their notification settings (residents and members are reached on the phone
# of their registry record): a whistle, a dispatch or a red card then shows up in the console SMS log.
SMS_LOGINS = (
    "jiedao",
    "mtc",
    "daxin",
    "wangge1",
    "wangge2",
    "wangge3",
    "fufeng1",
    "wuye",
    "chengguan",
    "zhujian",
)


def foundation(ctx: DemoContext) -> None:
    ctx.timed("users", DemoLogins(ctx)._users)
    addresses = []
    for user in User.objects.filter(username__in=SMS_LOGINS).order_by("username"):
        phone = ctx.phones.make()
        addresses.append(
            NotificationAddress(user=user, phone_enc=pii.encrypt(phone), phone_masked=pii.mask(phone))
        )
    NotificationAddress.objects.bulk_create(addresses)


def load(rng: random.Random, out: Any) -> None:
    """A first message in the inbox of the resident and the member logins, so the bell and the inbox show on
    their phones from the start (the cases demo adds the supervision cards staff receive)."""
    welcome = {
        "jumin": (
            "欢迎使用同心",
            "在这里提诉求、查进度、评价办理结果；办理进展会通过消息告诉您。",
            "/cases/m/",
        ),
        "dangyuan": (
            "欢迎报到",
            "网格内可接单的诉求、志愿服务的报名和时长都会通过消息提醒您。",
            "/volunteers/me/",
        ),
    }
    users = {u.username: u for u in User.objects.filter(username__in=welcome)}
    for username, (subject, body, link) in welcome.items():
        if username in users:
            notifications.notify(
                [users[username]], subject, body, link, kind="account_welcome", on_commit=False
            )
    out.write(f"accounts: {len(users)} welcome messages")


class DemoLogins:
    def __init__(self, ctx: DemoContext) -> None:
        self.names = ctx.names
        self.data = ctx.data
        self.subdistrict = ctx.data["subdistrict"]
        self.communities = ctx.data["communities"]
        self.grids = ctx.data["grids"]
        self.estates = ctx.data["estates"]
        self.buildings = ctx.data["buildings"]
        self.departments = ctx.data["departments"]
        self.property_company = ctx.data["property_company"]
        self.person_of = ctx.data["person_of"]

    def _users(self) -> None:
        password = make_password(demo.PASSWORD)  # hashed once (argon2 is slow on purpose)
        mtc_grids = self.grids["满庭春社区"]

        def user(username: str, display: str, staff: bool = True, **extra: Any) -> User:
            return User.objects.create(
                username=username, display_name=display, password=password, is_staff=staff, **extra
            )

        def role(u: User, r: str, **node: Any) -> None:
            RoleAssignment.objects.create(user=u, role=r, **node)

        user("admin", "系统管理员", is_superuser=True)
        role(
            user("jiedao", self.names.full(False) + "（街道）"), "subdistrict_admin", region=self.subdistrict
        )
        role(user("shiji", self.names.full(False) + "（市）"), "district_admin", region=self.data["city"])
        role(
            user("mtc", self.names.full(True) + "（满庭春社区）"),
            "community_staff",
            region=self.communities["满庭春社区"],
        )
        role(
            user("daxin", self.names.full(True) + "（大新社区）"),
            "community_staff",
            region=self.communities["大新社区"],
        )
        for i, grid in enumerate(mtc_grids, start=1):
            u = user(f"wangge{i}", self.names.full(i == 2) + f"（{grid.name}）")
            role(u, "grid_worker", grid=grid)
            grid.workers.add(u)
            if i == 1:
                grid.chief = u
                grid.save(update_fields=["chief"])
        fufeng = self.grids["大新社区"][0]
        u = user("fufeng1", self.names.full(True) + "（富丰新城）")
        role(u, "grid_worker", grid=fufeng)
        fufeng.workers.add(u)
        role(
            user("wuye", self.names.full(True) + "（物业）"),
            "property_staff",
            property_company=self.property_company,
        )
        role(
            user("chengguan", self.names.full(False) + "（城管）"),
            "department_liaison",
            department=self.departments["城管"],
        )
        role(
            user("zhujian", self.names.full(False) + "（住建）"),
            "department_liaison",
            department=self.departments["住建"],
        )
        # dangyuan: a dual-registered member of 满庭春社区 on the patrol post, with a phone
        volunteer: Resident = self.data["volunteer_resident"]
        self._link(user("dangyuan", volunteer.name, staff=False), volunteer, "volunteer")
        # jumin: an ordinary resident of 锦绣江山 with a phone, not a party member, not watched
        party = self.data["party_resident_ids"]
        estate = self.estates["锦绣江山"]
        r = next(
            r
            for info in self.buildings["满庭春社区"]
            if info.estate.pk == estate.pk
            for r in info.residents
            if r.phone_hash
            and r.residence_status == ResidenceStatus.REGISTERED
            and r.pk not in party
            and 30 <= self.person_of[r.pk].age <= 55
            and "watched" not in self.person_of[r.pk].tags
        )
        self._link(user("jumin", r.name, staff=False), r, "resident")

    def _link(self, u: User, r: Resident, role_name: str) -> None:
        u.phone_hash, u.phone_masked = r.phone_hash, r.phone_masked
        u.save(update_fields=["phone_hash", "phone_masked"])
        r.user = u
        r.save(update_fields=["user"])
        RoleAssignment.objects.create(user=u, role=role_name)
