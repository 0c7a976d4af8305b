from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DoorstepConfig(AppConfig):
    name = "tongxin.doorstep"
    label = "doorstep"
    verbose_name = _("便民服务")
