from django.urls import path

from tongxin.core import otp_views, views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.TongxinLoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("audit/", views.audit_log, name="audit"),
    path("m/login/", otp_views.phone_login, name="phone_login"),
]
