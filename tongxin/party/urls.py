from django.urls import path

from tongxin.party import views

app_name = "party"

urlpatterns: list = [
    path("", views.member_list, name="member_list"),
    path("organisations/", views.org_tree, name="org_tree"),
    path("co-building/", views.co_building_list, name="co_building_list"),
    path("co-building/<int:pk>/", views.co_building_detail, name="co_building_detail"),
    path("register/", views.register_member, name="register_member"),
    path("joint-meetings/", views.joint_meetings, name="joint_meetings"),
]
