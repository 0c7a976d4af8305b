from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "tongxin.regions"
    label = "regions"

    def ready(self) -> None:
        # Address resolution memoises estates, buildings and entrances per process (regions/address.py).
        from django.db.models.signals import post_delete, post_save

        from tongxin.regions.address import PLACES
        from tongxin.regions.models import Region

        post_save.connect(PLACES.forget, sender=Region, dispatch_uid="memo-places-save")
        post_delete.connect(PLACES.forget, sender=Region, dispatch_uid="memo-places-delete")
