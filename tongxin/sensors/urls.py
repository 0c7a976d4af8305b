from django.urls import path

from tongxin.sensors import views

app_name = "sensors"

urlpatterns: list = [
    path("", views.device_list, name="device_list"),
    path("devices/new/", views.device_new, name="device_new"),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
    path("devices/<int:pk>/edit/", views.device_edit, name="device_edit"),
    path("devices/<int:pk>/token/", views.device_token, name="device_token"),
    path("devices/<int:pk>/readings.json", views.device_readings, name="device_readings"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("cases/<int:case_id>/readings.json", views.case_readings, name="case_readings"),
    path("meters/", views.meter_list, name="meter_list"),
    path("care/", views.care_list, name="care_list"),
    path("care/<int:pk>/", views.care_detail, name="care_detail"),
    path("markers.json", views.markers_json, name="markers"),
    path("ingest/", views.ingest_stats, name="ingest"),
]
