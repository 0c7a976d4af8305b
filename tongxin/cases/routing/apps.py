from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesRoutingConfig(AppConfig):
    name = "tongxin.cases.routing"
    label = "cases_routing"
    verbose_name = _("诉求分拨辅助")
