from django.urls import path

from tongxin.party import views

app_name = "party"

urlpatterns: list = [
    path("", views.member_list, name="member_list"),
    path("organisations/", views.org_tree, name="org_tree"),
    path("co-building/", views.co_building_list, name="co_building_list"),
    path("co-building/<int:pk>/", views.co_building_detail, name="co_building_detail"),
]
