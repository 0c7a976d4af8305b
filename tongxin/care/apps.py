from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "tongxin.care"
    label = "care"
    verbose_name = _("走访与关爱")

    def ready(self) -> None:
        # The sensors (a sibling app) say when a resident may need a visit; care plans it (tongxin.core.signals).
        from tongxin.care import services
        from tongxin.core.signals import care_needed

        care_needed.connect(services.on_care_needed, dispatch_uid="care-on-care-needed")
