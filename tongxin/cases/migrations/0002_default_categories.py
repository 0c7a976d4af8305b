"""Default deadline policies (the 1715 rule and the general tiers) and the default category tree."""

import datetime as dt

from django.db import migrations

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)

# code, name, respond, on_site, plan, resolve, basis, note
POLICIES = [
    ("1715-routine", "1715 常规问题", 10 * M, 10 * M, None, 1 * H, "calendar", "10分钟到场，常规问题1小时解决"),
    ("1715-complex", "1715 复杂问题", 10 * M, 10 * M, 1 * D, 15 * D, "calendar", "10分钟到场，1天内形成方案"),
    ("repair-small", "小修", 10 * M, 10 * M, None, 1 * D, "calendar", "小修1天"),
    ("repair-medium", "中修", 10 * M, 10 * M, 1 * D, 7 * D, "calendar", "中修7天"),
    ("repair-large", "大修", 10 * M, 10 * M, 1 * D, 15 * D, "calendar", "大修15天"),
    ("emergency", "紧急", 10 * M, 30 * M, None, 2 * H, "calendar", "紧急事项2小时"),
    ("utilities", "水电气暖", 30 * M, 2 * H, None, 24 * H, "calendar", "水电气暖24小时"),
    ("general", "一般", 1 * D, None, None, 7 * D, "working_days", "一般事项7个工作日"),
    ("complex", "复杂", 1 * D, None, 1 * D, 15 * D, "working_days", "复杂事项15个工作日，1天内形成方案"),
]

# service_code, name, parent code, handler kind, policy, keywords, claim posts, description
CATEGORIES = [
    ("repairs", "房屋报修", None, "property_company", "repair-medium", ["报修", "维修", "坏了"], [], "房屋及公共设施维修"),
    ("repairs-small", "小修", "repairs", "property_company", "repair-small",
     ["水龙头", "灯", "门锁", "开关", "插座", "门禁", "小修"], [], "小修：1天内修好"),
    ("repairs-leak", "房屋漏水", "repairs", "property_company", "repair-small",
     ["漏水", "渗水", "屋顶", "楼顶", "天花板", "滴水"], [], "房屋漏水：当天联系物业处理"),
    ("repairs-medium", "中修", "repairs", "property_company", "repair-medium",
     ["管道", "下水道", "堵塞", "墙皮", "防火门", "中修"], [], "中修：7天"),
    ("repairs-large", "大修", "repairs", "property_company", "repair-large",
     ["电梯", "外墙", "屋面", "大修", "更换"], [], "大修：15天"),
    ("property", "物业服务", None, "property_company", "1715-routine",
     ["物业", "保洁", "保安", "物业费", "绿化"], [], "红色物业1715机制"),
    ("parking", "停车秩序", "property", "property_company", "general",
     ["停车", "车位", "道闸", "充电桩", "电动车"], ["traffic"], "停车与充电"),
    ("environment", "环境卫生", None, "community_staff", "general",
     ["垃圾", "卫生", "脏", "异味", "清洗", "人工湖"], ["environment"], "环境卫生与整治"),
    ("waste-sorting", "垃圾分类", "environment", "community_staff", "general",
     ["垃圾分类", "厨余", "可回收", "垃圾桶"], ["environment"], "垃圾分类与积分"),
    ("public-order", "治安秩序", None, "grid_worker", "general",
     ["治安", "巡逻", "噪音", "扰民", "高空抛物", "犬", "狗"], ["patrol"], "治安与公共秩序"),
    ("neighbour-dispute", "邻里纠纷", None, "community_staff", "general",
     ["纠纷", "吵架", "矛盾", "邻居", "邻里"], ["mediation"], "矛盾纠纷调解"),
    ("policy-question", "政策咨询", None, "community_staff", "general",
     ["政策", "咨询", "社保", "医保", "入学", "办理", "证明"], ["policy"], "政策宣传与答疑"),
    ("convenience", "便民服务", None, "volunteers", "general",
     ["代办", "帮忙", "独居老人", "看望", "理发", "送餐"], ["convenience", "patrol"], "便民助民、爱心代办"),
    ("utilities", "水电气暖", None, "property_company", "utilities",
     ["停水", "停电", "燃气", "暖气", "水压", "跳闸"], [], "水电气暖故障"),
    ("emergency", "紧急险情", None, "grid_worker", "emergency",
     ["火", "冒烟", "塌", "触电", "被困", "紧急", "危险"], [], "危及安全的紧急情况"),
    ("city-management", "城市管理", None, "department", "complex",
     ["占道", "违章", "搭建", "摊贩", "井盖", "路灯", "道路"], [], "城管、住建等部门职责事项"),
    ("complex", "复杂疑难", None, "community_staff", "complex", ["多次", "长期", "疑难"], [], "需多方协调的复杂问题"),
]


def forwards(apps, schema_editor):
    DeadlinePolicy = apps.get_model("cases", "DeadlinePolicy")
    Category = apps.get_model("cases", "Category")
    policies = {}
    for code, name, respond, on_site, plan, resolve, basis, note in POLICIES:
        policies[code], _ = DeadlinePolicy.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "respond_within": respond,
                "on_site_within": on_site,
                "plan_within": plan,
                "resolve_within": resolve,
                "basis": basis,
                "note": note,
            },
        )
    by_code = {}
    for order, (code, name, parent, kind, policy, keywords, posts, description) in enumerate(CATEGORIES):
        by_code[code], _ = Category.objects.get_or_create(
            service_code=code,
            defaults={
                "name": name,
                "parent": by_code.get(parent) if parent else None,
                "handler_kind": kind,
                "policy": policies[policy],
                "keywords": keywords,
                "claim_post_codes": posts,
                "description": description,
                "sort_order": order,
            },
        )


def backwards(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    DeadlinePolicy = apps.get_model("cases", "DeadlinePolicy")
    codes = [c[0] for c in CATEGORIES]
    for code in reversed(codes):
        Category.objects.filter(service_code=code, cases__isnull=True).delete()
    DeadlinePolicy.objects.filter(code__in=[p[0] for p in POLICIES], categories__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
