from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "tongxin.people"
    label = "people"

    def ready(self) -> None:
        # users linked to a resident get SMS on the resident's phone (core finds phones through providers)
        from tongxin.people import notifications  # noqa: F401
