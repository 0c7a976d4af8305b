from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tongxin.core"
    label = "core"

    def ready(self) -> None:
        # Every app's policy.py registers its actions (and role providers) with tongxin.core.policy. Discovered
        # by name, like admin.py, so core imports no domain app.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("policy")

        # Settings that load but cannot work (the SMS gateway's class), reported by `manage.py check`.
        from django.core import checks

        from tongxin.core.checks import sms_backend_loads

        checks.register(sms_backend_loads)

        # Every Django admin write is audited (django.contrib.admin, listed first, has registered every model).
        from django.contrib import admin

        from tongxin.core.admin_site import audit_every_admin

        audit_every_admin(admin.site)

        # What API requests memoise per process (tongxin/core/memo.py) is forgotten when its rows change.
        from django.db.models.signals import post_delete, post_save

        from tongxin.core.api import TOKENS
        from tongxin.core.models import ApiToken, User

        for model in (ApiToken, User):
            post_save.connect(TOKENS.forget, sender=model, dispatch_uid=f"memo-tokens-{model.__name__}")
            post_delete.connect(TOKENS.forget, sender=model, dispatch_uid=f"memo-tokens-del-{model.__name__}")
