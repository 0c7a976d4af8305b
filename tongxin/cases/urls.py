"""Cases URLs: the staff workbench (views.py) and the resident's phone pages (resident_views.py)."""

from tongxin.cases import resident_views, views

app_name = "cases"

urlpatterns = [*views.urlpatterns, *resident_views.urlpatterns]
