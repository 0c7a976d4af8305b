from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongxin.cases"
    label = "cases"

    def ready(self) -> None:
        # notification kinds, the work pages' rules, the case figures on /metrics
        from tongxin.cases import kinds, metrics, policy_work  # noqa: F401
