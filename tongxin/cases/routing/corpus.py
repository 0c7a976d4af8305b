"""Typical request texts per default category: the labelled set for tests, benchmarks and the data generator.

Deterministic: :func:`texts` composes phrases with a seeded :class:`random.Random`.
"""

from __future__ import annotations

import random

PHRASES: dict[str, list[str]] = {
    "repairs-leak": [
        "家里天花板漏水",
        "楼顶渗水到卧室",
        "卫生间往楼下滴水",
        "下雨屋顶漏水严重",
        "墙角一直渗水发霉",
        "顶楼房间漏雨",
    ],
    "repairs-small": [
        "楼道灯不亮了",
        "单元门禁坏了打不开",
        "门锁坏了",
        "楼道开关失灵",
        "公共区域插座没电",
        "水龙头关不紧",
    ],
    "repairs-medium": [
        "下水道堵塞返水",
        "楼道墙皮脱落",
        "防火门关不上",
        "排水管道破裂",
        "化粪池管道堵了",
    ],
    "repairs-large": [
        "电梯经常困人需要大修",
        "外墙瓷砖脱落很危险",
        "电梯故障停运",
        "屋面防水层需要更换",
    ],
    "parking": [
        "小区乱停车堵住消防通道",
        "车位被占用",
        "电动车充电桩不够",
        "道闸不抬杆",
        "电动车在楼道充电",
    ],
    "environment": [
        "垃圾堆了好几天没人清运",
        "小区卫生太脏了",
        "人工湖有异味",
        "路边垃圾成堆",
        "楼道里有很多垃圾",
        "绿化带里全是垃圾",
    ],
    "public-order": [
        "楼上噪音扰民到深夜",
        "广场舞音响声音太大",
        "有人高空抛物",
        "流浪狗咬人",
        "晚上有人在小区里喧哗",
        "装修噪音太吵",
    ],
    "neighbour-dispute": [
        "和邻居因为漏水赔偿吵架",
        "邻里矛盾需要调解",
        "邻居占用公共过道堆放杂物引起纠纷",
        "和楼下邻居有矛盾",
    ],
    "policy-question": [
        "咨询孩子入学政策",
        "医保怎么办理",
        "社保缴费问题咨询",
        "开具居住证明需要什么材料",
        "退休手续怎么办理",
    ],
    "convenience": [
        "独居老人需要有人帮忙买菜",
        "请志愿者帮忙代办证件",
        "老人行动不便需要送餐",
        "想请人上门理发",
        "看望独居老人",
    ],
    "utilities": [
        "突然停水了",
        "整栋楼停电",
        "燃气有泄漏的味道",
        "暖气不热",
        "水压太低",
        "家里总跳闸",
    ],
    "city-management": [
        "路边摊贩占道经营",
        "井盖丢失",
        "路灯坏了一排",
        "有人违章搭建",
        "道路坑洼需要修补",
    ],
}

OPENERS = ["", "", "您好，", "反映一下，", "请尽快处理：", "麻烦社区看看，"]
PLACES = ["", "", "3栋", "5号楼", "2单元", "小区门口", "北门"]
CLOSERS = ["", "", "。", "，谢谢！", "，已经好几天了。", "，希望尽快解决。"]


def texts(per_category: int, seed: int = 2026) -> list[tuple[str, str]]:
    """``per_category`` labelled (text, service_code) pairs per category, deterministic for a seed."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for code, phrases in PHRASES.items():
        for i in range(per_category):
            phrase = phrases[i % len(phrases)]
            out.append((rng.choice(OPENERS) + rng.choice(PLACES) + phrase + rng.choice(CLOSERS), code))
    rng.shuffle(out)
    return out
