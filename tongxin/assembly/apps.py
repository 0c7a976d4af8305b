from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssemblyConfig(AppConfig):
    name = "tongxin.assembly"
    label = "assembly"
    verbose_name = _("居民自治")

    def ready(self) -> None:
        from tongxin.assembly import notifications  # noqa: F401  (registers the kinds)
