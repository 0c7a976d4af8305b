"""People's part of the access policy: who may browse, change and reveal the population registry, and who sees
which tags.

The registry (residents, households, tags) belongs to the subdistrict, the community and the grid workers, each
inside their own areas. Property staff serve an estate: they see its dwellings (regions/policy.py), never the
people registered in them. Department liaisons, volunteers and residents see no registry at all.

Tags have a sensitivity (:class:`tongxin.people.choices.TagSensitivity`):

* ordinary — 退役军人, 五老人员: shown wherever the resident is shown;
* sensitive — health (慢病), welfare (低保), disability, care needs (独居老人, 留守儿童): registry roles only;
* restricted — watched persons (重点人员): registry roles only, and never exported to others.

Residence status (户籍 / 流动 / 境外) is a field of the resident and follows the registry itself.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core import policy
from tongxin.core.policy import Owned, Rule, register
from tongxin.regions.policy import MANAGERS, REGISTRY, GridInScope, InScope, RevealScope

IN_REGISTRY = InScope("dwelling__", registry=True)
DWELLING_IN_REGISTRY = InScope(registry=True)


register(
    Rule("people.list_residents", REGISTRY, _("浏览、检索居民名册"), where=IN_REGISTRY),
    Rule("people.view_resident", REGISTRY, _("查看居民详情"), where=IN_REGISTRY),
    Rule("people.create_resident", REGISTRY, _("登记居民"), where=DWELLING_IN_REGISTRY),
    Rule("people.edit_resident", REGISTRY, _("修改居民信息、标签，办理迁入迁出"), where=IN_REGISTRY),
    Rule("people.view_household", REGISTRY, _("查看房屋的住户及历史"), where=DWELLING_IN_REGISTRY),
    Rule("people.change_head", REGISTRY, _("更换户主"), where=IN_REGISTRY),
    Rule("people.view_grid_roster", REGISTRY, _("查看网格一表（花名册）"), where=GridInScope()),
    Rule("people.export_roster", REGISTRY, _("导出网格或社区花名册"), where=GridInScope()),
    Rule(
        "people.reveal_id_number",
        MANAGERS,
        _("查看身份证号明文（留痕）"),
        where=RevealScope("id_number", "dwelling__"),
    ),
    Rule(
        "people.reveal_phone", REGISTRY, _("查看手机号明文（留痕）"), where=RevealScope("phone", "dwelling__")
    ),
    Rule("people.view_sensitive_tags", REGISTRY, _("看到敏感标签（健康、低保、残疾、关爱对象）")),
    Rule("people.view_restricted_tags", REGISTRY, _("看到受限标签（重点人员）")),
    Rule("people.import", MANAGERS, _("导入人口、房屋、党员数据（一表导入）")),
    Rule(
        "people.view_import",
        MANAGERS,
        _("查看导入任务及其错误报告"),
        where=Owned(description=_("本人提交的导入任务")),
    ),
)


def visible_tag_levels(user: Any) -> list[str]:
    """The tag sensitivities ``user`` may see."""
    from tongxin.people.choices import TagSensitivity

    levels = [TagSensitivity.ORDINARY]
    if policy.can(user, "people.view_sensitive_tags"):
        levels.append(TagSensitivity.SENSITIVE)
    if policy.can(user, "people.view_restricted_tags"):
        levels.append(TagSensitivity.RESTRICTED)
    return [str(level) for level in levels]


def visible_tags(user: Any) -> QuerySet[Any]:
    from tongxin.people.models import Tag

    return Tag.objects.filter(sensitivity__in=visible_tag_levels(user))
