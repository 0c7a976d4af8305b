from django.apps import AppConfig


class VolunteersConfig(AppConfig):
    name = "tongxin.volunteers"
    label = "volunteers"

    def ready(self) -> None:
        # Hours for handling a case: listen to the cases app's signal when it provides one.
        try:
            from tongxin.cases.signals import case_resolved  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            return
        from tongxin.volunteers.services import on_case_resolved

        case_resolved.connect(on_case_resolved, dispatch_uid="volunteers.hours_for_case")
