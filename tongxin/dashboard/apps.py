from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "tongxin.dashboard"
    label = "dashboard"
