from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "tongxin.regions"
    label = "regions"

    def ready(self) -> None:
        # Address resolution memoises estates, buildings and entrances per process (regions/address.py), and every
        # request's scope and who holds a role on a node are memoised (regions/scoping.py): forgotten when what they are made of changes.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from tongxin.regions.address import PLACES
        from tongxin.regions.models import PropertyCompany, Region, RoleAssignment
        from tongxin.regions.scoping import HOLDERS, SCOPES

        for model, memo in (
            (Region, PLACES),
            (Region, SCOPES),
            (RoleAssignment, SCOPES),
            (PropertyCompany, SCOPES),
            (RoleAssignment, HOLDERS),
        ):
            post_save.connect(memo.forget, sender=model, dispatch_uid=f"memo-{memo.name}-{model.__name__}")
            post_delete.connect(
                memo.forget, sender=model, dispatch_uid=f"memo-{memo.name}-del-{model.__name__}"
            )
        m2m_changed.connect(
            SCOPES.forget, sender=PropertyCompany.estates.through, dispatch_uid="memo-scopes-estates"
        )
