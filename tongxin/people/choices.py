from django.db import models
from django.utils.translation import gettext_lazy as _


class ResidenceStatus(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    MIGRANT = "migrant", _("流动人口")
    FOREIGN = "foreign", _("境外人员")


class IdKind(models.TextChoices):
    ID_CARD = "id_card", _("居民身份证")
    PASSPORT = "passport", _("护照")
    OTHER = "other", _("其他证件")


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    TENANT = "tenant", _("租户")
    OTHER = "other", _("其他")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("在住")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已故")


class TagSensitivity(models.TextChoices):
    """Who may see a tag: see people/policy.py (the rules) and docs/access.md (the generated table)."""

    ORDINARY = "ordinary", _("一般")
    SENSITIVE = "sensitive", _("敏感（健康、低保、残疾、关爱）")
    RESTRICTED = "restricted", _("受限（重点人员）")


# Tag codes the system knows, with their sensitivity.
TAGS: list[tuple[str, str, str]] = [
    ("elderly_alone", "独居老人", TagSensitivity.SENSITIVE),
    ("disabled", "残疾人", TagSensitivity.SENSITIVE),
    ("hypertension", "慢病:高血压", TagSensitivity.SENSITIVE),
    ("diabetes", "慢病:糖尿病", TagSensitivity.SENSITIVE),
    ("tuberculosis", "慢病:肺结核", TagSensitivity.SENSITIVE),
    ("veteran", "退役军人", TagSensitivity.ORDINARY),
    ("senior_talent", "五老人员", TagSensitivity.ORDINARY),
    ("low_income", "低保户", TagSensitivity.SENSITIVE),
    ("left_behind_child", "留守儿童", TagSensitivity.SENSITIVE),
    ("watched", "重点人员", TagSensitivity.RESTRICTED),
]
