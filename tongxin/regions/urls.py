from django.urls import path

from tongxin.regions import views

app_name = "regions"

urlpatterns: list = [
    path("", views.region_tree, name="tree"),
    path("<int:pk>/", views.region_node, name="node"),
]
