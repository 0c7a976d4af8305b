from django.apps import AppConfig


class VolunteersConfig(AppConfig):
    name = "tongxin.volunteers"
    label = "volunteers"
