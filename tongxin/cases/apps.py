from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongxin.cases"
    label = "cases"

    def ready(self) -> None:
        from tongxin.cases import kinds  # noqa: F401  (notification kinds)
