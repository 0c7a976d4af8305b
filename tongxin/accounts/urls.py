from django.urls import path

from tongxin.accounts import views
from tongxin.core import policy

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", policy.public(views.TongxinLoginView.as_view()), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("m/login/", views.phone_login, name="phone_login"),
]
