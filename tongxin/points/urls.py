from django.urls import path

from tongxin.points import views

app_name = "points"

urlpatterns = [
    path("", views.home, name="home"),
    path("shop/", views.shop, name="shop"),
    path("leaderboards/", views.leaderboards, name="leaderboards"),
    path("me/", views.mine, name="mine"),
    path("me/rewards/<int:pk>/redeem/", views.redeem_mine, name="redeem"),
]
