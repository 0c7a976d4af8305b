from django.contrib import admin
from django.urls import include, path

from tongxin.api import api
from tongxin.core.media import serve_media

urlpatterns: list = [
    path("", include("tongxin.accounts.urls")),
    path("", include("tongxin.core.urls")),  # after accounts: its moved-name aliases must never be reached
    path("regions/", include("tongxin.regions.urls")),
    path("people/", include("tongxin.people.urls")),
    path("party/", include("tongxin.party.urls")),
    path("cases/", include("tongxin.cases.urls")),
    path("volunteers/", include("tongxin.volunteers.urls")),
    path("points/", include("tongxin.points.urls")),
    path("sensors/", include("tongxin.sensors.urls")),
    path("notices/", include("tongxin.notices.urls")),
    path("care/", include("tongxin.care.urls")),
    path("doorstep/", include("tongxin.doorstep.urls")),
    path("assembly/", include("tongxin.assembly.urls")),
    path("mediation/", include("tongxin.mediation.urls")),
    path("dashboard/", include("tongxin.dashboard.urls")),
    path("open311/v2/", include("tongxin.cases.open311_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # uploads: served only to those the policy lets see the object a file belongs to (tongxin/core/media.py)
    path("media/<path:path>", serve_media, name="media"),
]

handler500 = "tongxin.core.views.server_error"
