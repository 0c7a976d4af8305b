from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DoorstepConfig(AppConfig):
    name = "tongxin.doorstep"
    label = "doorstep"
    verbose_name = _("便民服务")

    def ready(self) -> None:
        from tongxin.core.notifications import SMS, Kind, register_kind

        # a resident waiting in the hall or at home learns by SMS that the number is called or the request done
        register_kind(Kind("doorstep", _("便民服务（预约、叫号、办结、代办）"), channels=frozenset({SMS})))
