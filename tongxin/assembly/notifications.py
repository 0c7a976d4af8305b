"""The kinds of notification self-governance sends (inbox only by default: nothing here needs action within
minutes)."""

from django.utils.translation import gettext_lazy as _

from tongxin.core.notifications import Kind, register_kind

register_kind(
    Kind("assembly_outcome", _("议题进展与结果公示")),
    Kind("assembly_vote", _("请参加表决")),
)
