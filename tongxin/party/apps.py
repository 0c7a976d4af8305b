from django.apps import AppConfig


class PartyConfig(AppConfig):
    name = "tongxin.party"
    label = "party"
