from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongxin.cases"
    label = "cases"

    def ready(self) -> None:
        from tongxin.cases import metrics  # noqa: F401  (registers the case figures on /metrics)
