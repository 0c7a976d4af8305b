"""Cases URLs: the staff workbench (views.py), the case work pages (work_views.py) and the resident's phone
pages (resident_views.py)."""

from tongxin.cases import resident_views, views, work_views

app_name = "cases"

urlpatterns = [*views.urlpatterns, *work_views.urlpatterns, *resident_views.urlpatterns]
