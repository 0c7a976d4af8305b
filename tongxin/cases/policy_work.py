"""The actions of the case work pages added with issue 9 (改类, the street's department rating on the web).

Kept apart from ``cases/policy.py`` (the policy layer of the whole app) while both are being written; registered
from ``CasesConfig.ready``. The services check the same conditions (``services.may_manage`` for 改类, the
subdistrict for ratings) and stay the authority.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register
from tongxin.regions.policy import ADMIN, REGISTRY, InScope


def _open(user: Any, case: Any) -> bool:
    return case is None or case.is_open


def _whistled(user: Any, case: Any) -> bool:
    return case is None or case.whistle_calls.exists()


register(
    Rule(
        "cases.reclassify",
        REGISTRY,
        _("改类（重新计算时限）"),
        where=InScope(registry=True),
        when=_open,
        condition=_("工单未办结"),
        reason=_("只有未办结的工单可以改类"),
    ),
    Rule(
        "cases.rate_department",
        ADMIN,
        _("评价报到部门"),
        where=InScope(),
        when=_whistled,
        condition=_("工单吹过哨"),
        reason=_("该工单没有吹哨，无可评价的部门"),
    ),
)
