from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "tongxin.mediation"
    label = "mediation"
    verbose_name = _("矛盾调解")

    def ready(self) -> None:
        from tongxin.cases import panels
        from tongxin.mediation import notifications  # noqa: F401  (registers the kind)

        panels.register("mediation/_case_panel.html")  # disputes of the case, or 转入矛盾调解
