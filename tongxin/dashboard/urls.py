from django.urls import path

from tongxin.dashboard import views

app_name = "dashboard"

urlpatterns: list = [
    path("", views.home, name="home"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("report.pdf", views.report_pdf, name="report_pdf"),
    path("map/", views.grid_map, name="map"),
    path("map/grid/<int:pk>/", views.grid_panel, name="grid_panel"),
]
