"""Demo rows for the services at the door (see docs/doorstep.md).

* 满庭春社区's service hall in the style of 玉龙湖 (seed 002): 12 windows with 27 functions (民政、计生、社保、
  工商税务 …), each with its materials, whether the resident must come in person, the promised time and the back
  office; appointment slots for the next days; today's queue at the 社保 window (booked and walk-in numbers, one
  called); requests at the back office (one overdue, some done); errands run by the demo party member
  (``dangyuan``) with signed hand-overs and hours in the time bank.
* 家庭代工: a factory order of 2,000 pieces in progress, residents tagged for piecework with claims, some handed in.
* 便民服务队: vetted merchants (housekeeping, cleaning, repairs …) with prices, discounts, bookings and ratings.
* The service hall's rooms (seed 000: gym, table tennis, dance, yoga, early education, calligraphy, 爱心厨房,
  chess) with opening hours, capacity and bookings by residents, teams and co-building units.
* 双报到 as staff record it: a 下沉 cadre of a co-building unit living outside the community, the unit's report-in
  with its three lists and a joint meeting of the 大党委.
* The 直通车 cost-price shop (seed 002): six charity goods at cost and a few orders (elderly ones delivered).
* 大新社区: a smaller hall (4 windows), two merchants, two rooms.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from tongxin.core import policy
from tongxin.core.models import User
from tongxin.doorstep import services
from tongxin.doorstep.choices import (
    AppointmentState,
    BookingState,
    RequestEventType,
    RequestKind,
    RequestState,
)
from tongxin.doorstep.models import (
    Appointment,
    MerchantBooking,
    PieceworkClaim,
    PieceworkOrder,
    RequestEvent,
    ServiceRequest,
    ServiceWindow,
    ShopItem,
    ShopOrder,
)
from tongxin.party import services as party_services
from tongxin.party.models import CoBuildingUnit, PartyMember
from tongxin.people.models import Resident
from tongxin.regions.models import Region

# window name -> [(function, category, materials, in person, promised days, back office)]
HALL: list[tuple[str, list[tuple[str, str, str, bool, int, str]]]] = [
    (
        "民政",
        [
            ("低保申请", "民政", "身份证\n户口簿\n收入证明", True, 20, "民政办"),
            ("高龄津贴申领", "民政", "身份证\n户口簿\n银行卡", False, 10, "民政办"),
            ("临时救助申请", "民政", "身份证\n困难情况说明", True, 7, "民政办"),
        ],
    ),
    (
        "残联",
        [
            ("残疾证办理", "残联", "身份证\n户口簿\n二寸照片", True, 30, "残联专干"),
            ("残疾人两项补贴", "残联", "残疾证\n银行卡", False, 15, "残联专干"),
        ],
    ),
    (
        "计生",
        [
            ("生育登记", "计生", "夫妻双方身份证\n结婚证", False, 3, "计生办"),
            ("独生子女父母奖励", "计生", "独生子女证\n户口簿", False, 15, "计生办"),
        ],
    ),
    (
        "社保",
        [
            ("城乡居民养老保险参保登记", "社保", "身份证\n户口簿", False, 3, "社保服务站"),
            ("养老保险待遇领取资格认证", "社保", "身份证", True, 1, "社保服务站"),
            ("灵活就业人员社保缴费", "社保", "身份证\n银行卡", False, 3, "社保服务站"),
        ],
    ),
    (
        "医保",
        [
            ("城乡居民医保参保缴费", "医保", "身份证\n户口簿", False, 3, "医保服务站"),
            ("门诊慢特病申请", "医保", "身份证\n医保卡\n诊断证明", False, 15, "医保服务站"),
        ],
    ),
    (
        "就业",
        [
            ("失业登记", "就业", "身份证\n解除劳动合同证明", True, 5, "就业服务站"),
            ("就业困难人员认定", "就业", "身份证\n失业登记证", False, 10, "就业服务站"),
            ("创业担保贷款咨询", "就业", "身份证", False, 5, "就业服务站"),
        ],
    ),
    (
        "工商税务",
        [
            ("个体工商户登记", "工商税务", "身份证\n经营场所证明", True, 3, "市场监管所"),
            ("个体户税务代开发票", "工商税务", "营业执照\n身份证", False, 1, "税务分局"),
        ],
    ),
    (
        "老龄",
        [
            ("老年优待证办理", "老龄", "身份证\n一寸照片", False, 7, "老龄专干"),
            ("居家养老服务申请", "老龄", "身份证\n户口簿", False, 10, "老龄专干"),
        ],
    ),
    (
        "退役军人",
        [
            ("退役军人信息采集", "退役军人", "身份证\n退伍证", True, 5, "退役军人服务站"),
            ("优待证申领", "退役军人", "身份证\n退伍证\n一寸照片", False, 20, "退役军人服务站"),
        ],
    ),
    (
        "综治",
        [
            ("居住证明开具", "综治", "身份证\n房产证或租赁合同", False, 1, "综治中心"),
            ("流动人口居住登记", "综治", "身份证\n租赁合同", False, 3, "综治中心"),
        ],
    ),
    (
        "法律服务",
        [
            ("法律咨询（大党委成员单位法律顾问）", "法律服务", "相关材料", False, 7, "法律顾问"),
            ("人民调解申请", "法律服务", "身份证\n纠纷情况说明", True, 15, "调解委员会"),
        ],
    ),
    (
        "爱心代办",
        [
            ("爱心代办登记", "代办", "身份证", False, 5, "爱心代办窗口"),
            ("便民服务队预约", "便民", "", False, 1, "爱心代办窗口"),
        ],
    ),
]
SMALL_HALL = HALL[:2] + HALL[3:4] + HALL[-1:]
ROOMS = [
    ("健身房", 20, "06:30", "21:00", "穿运动鞋入内，器械用后复位"),
    ("乒乓球室", 8, "08:00", "21:00", "每次预约不超过2小时"),
    ("舞蹈室", 30, "08:00", "21:30", "音响音量请勿扰民"),
    ("瑜伽室", 15, "08:00", "21:00", "自带瑜伽垫"),
    ("早教室", 12, "08:30", "17:30", "家长陪同"),
    ("书画室", 20, "08:00", "20:00", "用后清洗笔砚"),
    ("爱心厨房", 10, "09:00", "19:00", "用火用气须有工作人员在场"),
    ("棋牌室", 24, "08:00", "21:00", "严禁赌博"),
]
MERCHANTS = [
    (
        "好帮手家政",
        "housekeeping",
        "日常保洁 35元/小时\n深度保洁 6元/平方米\n月嫂 面议",
        "60岁以上九折",
        "满庭春社区全域",
    ),
    (
        "洁亮保洁服务部",
        "cleaning",
        "擦玻璃 5元/平方米\n油烟机清洗 80元/台",
        "低保户免上门费",
        "满庭春、城西花苑",
    ),
    (
        "老李水电维修",
        "repair",
        "换水龙头 20元\n疏通下水道 50元起\n电路检修 30元起",
        "材料按进价",
        "满庭春社区全域",
    ),
    ("巧手开锁换锁", "repair", "开锁 50元\n换锁芯 80元起", "公安备案；独居老人免费开锁", "满庭春社区全域"),
    ("爱心理发屋", "haircut", "理发 10元\n上门理发 20元", "80岁以上免费", "世纪雅园门面"),
    ("干净洗衣店", "laundry", "衬衫 8元\n羽绒服 30元", "八五折", "锦绣江山东门"),
]
PURPOSES = [
    "广场舞排练",
    "太极拳练习",
    "书法兴趣班",
    "亲子早教",
    "乒乓球友谊赛",
    "老年棋牌",
    "健身",
    "瑜伽课",
]


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def load(rng: random.Random, out: Any) -> None:
    if ServiceWindow.objects.exists():
        out.write("doorstep demo already loaded")
        return
    mtc = Region.objects.filter(kind="community", name="满庭春社区").first()
    daxin = Region.objects.filter(kind="community", name="大新社区").first()
    staff = User.objects.filter(username="mtc").first()
    if mtc is None or staff is None:
        return
    today = timezone.localdate()
    functions = _hall(staff, mtc, HALL, today)
    rooms = _rooms(rng, staff, mtc, today)
    merchants = _merchants(rng, staff, mtc, today)
    _queue_and_back_office(rng, staff, mtc, functions, today)
    _errands(rng, staff, mtc, functions)
    _piecework(rng, staff, mtc, today)
    _dual_registration(staff, mtc, today, rooms)
    _shop(rng, mtc)
    other = User.objects.filter(username="daxin").first()
    if daxin is not None and other is not None:
        _hall(other, daxin, SMALL_HALL, today)
        _rooms(rng, other, daxin, today, ROOMS[2:4])
        _merchants(rng, other, daxin, today, MERCHANTS[:2])
    out.write(
        f"doorstep: {ServiceWindow.objects.count()} windows, {len(functions)} functions in 满庭春, "
        f"{len(rooms)} rooms, {len(merchants)} merchants"
    )


def _hall(staff: Any, community: Region, hall: list, today: dt.date) -> dict[str, Any]:
    functions: dict[str, Any] = {}
    for number, (window_name, rows) in enumerate(hall, start=1):
        window = services.create_window(staff, community=community, number=number, name=window_name)
        for name, category, materials, in_person, days, back_office in rows:
            functions[name] = services.create_function(
                staff,
                window=window,
                name=name,
                category=category,
                materials=materials,
                in_person=in_person,
                promised_days=days,
                back_office=back_office,
            )
    times = [
        (dt.time(h, m), (dt.datetime(2000, 1, 1, h, m) + dt.timedelta(minutes=30)).time())
        for h in (9, 10, 14, 15)
        for m in (0, 30)
    ]
    for name in (
        "城乡居民养老保险参保登记",
        "城乡居民医保参保缴费",
        "高龄津贴申领",
        "残疾证办理",
        "居住证明开具",
    ):
        if name in functions:
            for d in range(1, 6):
                services.open_slots(
                    staff, functions[name], day=today + dt.timedelta(days=d), times=times, capacity=3
                )
    return functions


def _residents(community: Region, n: int, rng: random.Random) -> list[Resident]:
    qs = Resident.objects.filter(dwelling__community=community, status="active", user__isnull=True)
    ids = list(qs.values_list("pk", flat=True)[:2000])
    picked = rng.sample(ids, min(n, len(ids)))
    return list(Resident.objects.filter(pk__in=picked).select_related("dwelling").order_by("pk"))


def _queue_and_back_office(
    rng: random.Random, staff: Any, community: Region, functions: dict, today: dt.date
) -> None:
    """Today's queue at the 社保 window (appointments written as booked for today) and the back office's work."""
    pension = functions["城乡居民养老保险参保登记"]
    people = _residents(community, 14, rng)
    for i, r in enumerate(people[:6]):
        Appointment.objects.create(
            community=community,
            function=pension,
            window=pension.window,
            resident=r,
            name=r.name,
            day=today,
            queue_number=f"A{i + 1:03d}",
            state=AppointmentState.SERVED if i < 2 else AppointmentState.BOOKED,
            created_by=staff,
        )
    for r in people[6:8]:
        services.take_ticket(staff, pension, name=r.name, resident=r)
    called = services.call_next(staff, pension.window)
    if called is not None:
        services.serve(staff, called, detail="材料齐全，转社保服务站")
    names = [
        "城乡居民医保参保缴费",
        "门诊慢特病申请",
        "老年优待证办理",
        "残疾人两项补贴",
        "生育登记",
        "居住证明开具",
    ]
    for r, name in zip(people[8:], names, strict=False):
        request = services.receive(staff, functions[name], name=r.name, resident=r, detail="前台一次受理")
        if rng.random() < 0.4:
            services.finish(staff, request, result="已办结，请凭身份证到窗口领取")
    ServiceRequest.objects.filter(
        pk=ServiceRequest.objects.filter(state="handling").order_by("pk").values("pk")[:1]
    ).update(due_on=today - dt.timedelta(days=2), created_at=timezone.now() - dt.timedelta(days=12))


def _errands(rng: random.Random, staff: Any, community: Region, functions: dict) -> None:
    """Errands residents asked at the 爱心代办 window (recorded as asked); the demo party member runs two, one of
    them handed back with hours in his time bank."""
    runner = User.objects.filter(username="dangyuan").first()
    askers = _residents(community, 4, rng)
    titles = [
        ("高龄津贴申领", "帮父亲代领高龄津贴"),
        ("城乡居民医保参保缴费", "代缴全家医保"),
        ("", "代取慢性病药品"),
        ("老年优待证办理", "代办老年优待证"),
    ]
    today = timezone.localdate()
    for i, (r, (fname, title)) in enumerate(zip(askers, titles, strict=False)):
        function = functions.get(fname)
        errand = ServiceRequest.objects.create(
            kind=RequestKind.ERRAND,
            community=community,
            function=function,
            title=title,
            resident=r,
            name=r.name,
            back_office=function.back_office if function else "",
            due_on=today + dt.timedelta(days=function.promised_days if function else 7),
            state=RequestState.REQUESTED,
        )
        RequestEvent.objects.create(request=errand, type=RequestEventType.REQUESTED)
        if runner is None or i >= 2:
            continue
        who = runner if policy.can(runner, "doorstep.take_errand", errand) else staff
        services.take_errand(who, errand)
        services.hand_in(who, errand, documents="身份证、户口簿", signed_by=r.name)
        if i == 0:
            services.finish(who, errand, result="已办结")
            services.hand_back(
                who, errand, documents="身份证、户口簿、办结回执", signed_by=r.name, hours="1.5"
            )


def _piecework(rng: random.Random, staff: Any, community: Region, today: dt.date) -> None:
    order = services.create_order(
        staff,
        community=community,
        factory="仙桃宏达电子厂",
        item="耳机线缠绕、装袋",
        quantity=2000,
        unit_price=Decimal("0.35"),
        deadline=today + dt.timedelta(days=12),
        quality_notes="线不打结，每袋一副，封口平整",
    )
    services.create_order(
        staff,
        community=community,
        factory="彭场无纺布制品厂",
        item="口罩耳带焊接",
        quantity=5000,
        unit_price=Decimal("0.05"),
        deadline=today + dt.timedelta(days=20),
    )
    tag = services.piecework_tag()
    workers = _residents(community, 12, rng)
    for r in workers:
        r.tags.add(tag)
    for r in workers:  # claims taken at the hall (the phone claim is services.claim)
        c = PieceworkClaim.objects.create(order=order, resident=r, quantity=rng.choice([50, 80, 100, 120]))
        PieceworkOrder.objects.filter(pk=order.pk).update(claimed=F("claimed") + c.quantity)
        if rng.random() < 0.5:
            rejected = rng.randint(0, 5)
            services.accept_hand_in(staff, c, accepted=c.quantity - rejected, rejected=rejected)


def _merchants(
    rng: random.Random, staff: Any, community: Region, today: dt.date, rows: list | None = None
) -> list:
    made = []
    for name, category, offers, discount, area in rows or MERCHANTS:
        made.append(
            services.add_merchant(
                staff,
                community=community,
                name=name,
                category=category,
                services=offers,
                discount=discount,
                service_area=area,
                phone=f"0728-{rng.randint(3000000, 3999999)}",
            )
        )
    for r in _residents(community, 8, rng):  # bookings made at the 爱心代办 window or on the phone
        m = rng.choice(made)
        done = rng.random() < 0.6
        MerchantBooking.objects.create(
            merchant=m,
            community=community,
            resident=r,
            wanted_on=today + dt.timedelta(days=rng.randint(-10, -1) if done else rng.randint(0, 3)),
            note=rng.choice(["上门保洁", "厨房水管漏水", "换门锁", "上门理发"]),
            state=BookingState.DONE if done else BookingState.BOOKED,
            rating=rng.choice([4, 5, 5, 5]) if done else None,
            comment="师傅准时，收费公道" if done else "",
        )
    return made


def _rooms(
    rng: random.Random, staff: Any, community: Region, today: dt.date, rows: list | None = None
) -> list:
    rooms = [
        services.create_venue(
            staff, community=community, name=n, capacity=c, opens_at=_t(o), closes_at=_t(e), rules=rules
        )
        for n, c, o, e, rules in (rows or ROOMS)
    ]
    teams = ["夕阳红舞蹈队", "太极拳队", "书画协会", "象棋协会", "巾帼志愿服务队"]
    for d in range(1, 8):
        day = today + dt.timedelta(days=d)
        for room in rng.sample(rooms, min(3, len(rooms))):
            start = rng.choice([9, 10, 14, 15, 19])
            if _at(day, start + 1).time() > room.closes_at or _at(day, start).time() < room.opens_at:
                continue
            services.book_venue(
                staff,
                room,
                starts_at=_at(day, start),
                ends_at=_at(day, start + 1),
                purpose=rng.choice(PURPOSES),
                attendees=min(room.capacity, rng.randint(4, 20)),
                organiser=rng.choice(teams),
            )
    return rooms


GOODS = [
    ("洗衣粉", "500克", "0.92", "1.30"),
    ("香皂", "125克", "1.50", "2.50"),
    ("卷纸", "10卷", "8.90", "12.80"),
    ("食用盐", "400克", "1.20", "2.00"),
    ("牙膏", "120克", "3.50", "6.00"),
    ("洗洁精", "1.1千克", "4.20", "7.90"),
]


def _shop(rng: random.Random, community: Region) -> None:
    """The 便民生活服务直通车 (seed 002): charity goods at cost; orders of elderly residents delivered free."""
    items = [
        ShopItem.objects.create(
            community=community,
            name=name,
            unit=unit,
            price=Decimal(price),
            market_price=Decimal(market),
            stock=rng.randint(40, 120),
            supplier="义工联合会",
        )
        for name, unit, price, market in GOODS
    ]
    for r in _residents(community, 6, rng):
        picked = rng.sample(items, 2)
        lines = [{"item": i.pk, "name": i.name, "quantity": 2, "price": str(i.price)} for i in picked]
        ShopOrder.objects.create(
            community=community,
            resident=r,
            lines=lines,
            total=sum((i.price * 2 for i in picked), Decimal("0")),
            delivery=(r.age or 0) >= 60,
        )


def _dual_registration(staff: Any, community: Region, today: dt.date, rooms: list) -> None:
    """A 下沉 cadre of the 市税务局 living in town, the unit's report-in, a joint meeting and the unit's room."""
    unit = CoBuildingUnit.objects.filter(communities=community, committee_member=True).order_by("pk").first()
    if unit is None:
        return
    if not PartyMember.objects.filter(community=community, sinking_cadre=True).exists():
        party_services.register_member(
            staff,
            community=community,
            name="周建平",
            phone="17099990001",
            employer=unit,
            post_title="副局长",
            sinking_cadre=True,
            reported_in_on=today - dt.timedelta(days=60),
        )
    party_services.record_unit_report_in(
        staff,
        unit=unit,
        community=community,
        resources="每月一次义诊\n法律顾问每周二坐班\n职工志愿者20名",
        needs="老旧小区加装电梯政策宣讲\n独居老人结对帮扶",
        projects="红色驿站共建\n社区服务大厅法律服务窗口",
        reported_on=today - dt.timedelta(days=60),
    )
    units = list(
        CoBuildingUnit.objects.filter(communities=community, committee_member=True).order_by("pk")[:4]
    )
    party_services.record_joint_meeting(
        staff,
        community=community,
        held_on=today - dt.timedelta(days=14),
        topic="一窗受理、后台办理流程优化与便民服务队管理",
        units=units,
        decisions="法律顾问进驻服务大厅；共建单位认领独居老人结对",
    )
    if rooms:
        day = today + dt.timedelta(days=2)
        services.book_venue(
            staff,
            rooms[-1],
            starts_at=_at(day, 15),
            ends_at=_at(day, 16, 30),
            purpose="共建单位党课",
            attendees=min(rooms[-1].capacity, 20),
            co_building_unit=unit,
        )
