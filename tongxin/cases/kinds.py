"""The notification kinds the cases app adds (the older ones are still listed in accounts/notifications.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.notifications import SMS, WECHAT, Kind, register_kind

URGENT = frozenset({SMS, WECHAT})

register_kind(
    Kind("case_reclassified", _("工单改类")),
    Kind("case_step_due_soon", _("到场或方案即将超时"), URGENT),
    Kind("case_step_overdue", _("未按时到场或形成方案"), URGENT),
    Kind("case_report_in_late", _("部门超时未报到"), URGENT),
)
