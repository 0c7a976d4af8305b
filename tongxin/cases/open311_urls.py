"""Open311 GeoReport v2 endpoints (mounted at /open311/v2/); the format is the path's extension."""

from django.urls import path

from tongxin.cases import open311

app_name = "open311"

urlpatterns: list = [
    path("discovery.<str:fmt>", open311.discovery, name="discovery"),
    path("services.<str:fmt>", open311.services, name="services"),
    path("services/<str:service_code>.<str:fmt>", open311.service_definition, name="service"),
    path("requests.<str:fmt>", open311.requests_view, name="requests"),
    path("requests/<str:service_request_id>.<str:fmt>", open311.request_detail, name="request"),
    path("tokens/<str:token>.<str:fmt>", open311.token_detail, name="token"),
]
