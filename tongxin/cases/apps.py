from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongxin.cases"
    label = "cases"

    def ready(self) -> None:
        # notification kinds, and the case figures on /metrics
        # Intake memoises categories per process (services.CATEGORIES): forgotten when what they carry changes.
        from django.db.models.signals import post_delete, post_save

        from tongxin.cases import kinds, metrics  # noqa: F401
        from tongxin.cases.models import Category, DeadlinePolicy, Holiday
        from tongxin.cases.services import CATEGORIES
        from tongxin.cases.sla import HOLIDAYS
        from tongxin.regions.models import Department

        for model, memo in ((Category, CATEGORIES), (DeadlinePolicy, CATEGORIES), (Department, CATEGORIES),
                            (Holiday, HOLIDAYS)):  # fmt: skip
            post_save.connect(memo.forget, sender=model, dispatch_uid=f"memo-{memo.name}-{model.__name__}")
            post_delete.connect(
                memo.forget, sender=model, dispatch_uid=f"memo-{memo.name}-del-{model.__name__}"
            )
