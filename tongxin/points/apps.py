from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "tongxin.points"
    label = "points"

    def ready(self) -> None:
        # Points for verified volunteer service: the volunteers app announces it through the ledger's signal.
        from tongxin.ledger.signals import service_rewarded
        from tongxin.points.services import on_service_rewarded

        service_rewarded.connect(on_service_rewarded, dispatch_uid="points.service_rewarded")
