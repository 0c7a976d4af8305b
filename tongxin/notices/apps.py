from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "tongxin.notices"
    label = "notices"
    verbose_name = _("通知与楼栋长")

    def ready(self) -> None:
        # The roster export and import learn the leader columns from here (people never imports notices).
        from tongxin.notices import roster

        roster.install()
