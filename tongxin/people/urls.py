"""People URLs: the registry pages (views.py) and the import/export pages (import_views.py)."""

from tongxin.people import import_views, views

app_name = "people"

urlpatterns = [*views.urlpatterns, *import_views.urlpatterns]
