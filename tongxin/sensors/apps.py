from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SensorsConfig(AppConfig):
    name = "tongxin.sensors"
    label = "sensors"
    verbose_name = _("智能感知")

    def ready(self) -> None:
        # An alert ends with its case: when the case is resolved or closed the alert is closed (on commit).
        from tongxin.cases import panels
        from tongxin.cases.models import Case
        from tongxin.cases.signals import case_closed, case_resolved
        from tongxin.sensors import services

        panels.register("sensors/_case_panel.html")  # the reading history of a sensor case
        case_resolved.connect(services.on_case_finished, sender=Case, dispatch_uid="sensors-case-resolved")
        case_closed.connect(services.on_case_finished, sender=Case, dispatch_uid="sensors-case-closed")
        # A care visit planned for one of our care signals was recorded (tongxin.core.signals): close the signal.
        from tongxin.core.signals import care_visit_done

        care_visit_done.connect(services.on_care_visit_done, dispatch_uid="sensors-care-visit-done")
