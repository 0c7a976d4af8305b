"""The kind of notification mediation sends."""

from django.utils.translation import gettext_lazy as _

from tongxin.core.notifications import Kind, register_kind

register_kind(Kind("mediation_assigned", _("指派给我的调解")))
