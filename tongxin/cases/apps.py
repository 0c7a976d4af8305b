from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongxin.cases"
    label = "cases"

    def ready(self) -> None:
        # notification kinds, and the case figures on /metrics
        from tongxin.cases import kinds, metrics  # noqa: F401
