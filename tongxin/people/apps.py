from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "tongxin.people"
    label = "people"

    def ready(self) -> None:
        # users linked to a resident get SMS on the resident's phone (core finds phones through providers)
        # the resident of a user is memoised per process (services.RESIDENT_OF_USER)
        from django.db.models.signals import post_delete, post_save

        from tongxin.people import notifications  # noqa: F401
        from tongxin.people.models import Resident
        from tongxin.people.services import RESIDENT_OF_USER
        from tongxin.regions.models import Dwelling

        for model in (Resident, Dwelling):
            post_save.connect(
                RESIDENT_OF_USER.forget, sender=model, dispatch_uid=f"memo-resident-{model.__name__}"
            )
            post_delete.connect(
                RESIDENT_OF_USER.forget, sender=model, dispatch_uid=f"memo-resident-del-{model.__name__}"
            )
