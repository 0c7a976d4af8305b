from django.urls import path
from django.views.generic import RedirectView

from tongxin.core import ops, policy, views

app_name = "core"

# Signing in, the home page and the menu moved to tongxin.accounts (URL names ``accounts:*``). The old names
# stay reversible until every caller has switched (settings.LOGIN_URL, cases/resident_views.py): these patterns
# are mounted after accounts' identical paths, so they are never reached; reverse("core:login") still gives
# "/login/". Delete them once nothing names them.
_moved = {"home": "", "login": "login/", "logout": "logout/", "phone_login": "m/login/"}

urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("captcha.png", views.captcha_image, name="captcha"),
    *(
        path(
            route,
            policy.public(RedirectView.as_view(pattern_name=f"accounts:{name}", query_string=True)),
            name=name,
        )
        for name, route in _moved.items()
    ),
]
