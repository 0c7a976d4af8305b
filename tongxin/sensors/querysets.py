"""Device querysets: the domain filters (online, meters, devices that open cases). Who may see which device is
the policy's answer (:mod:`tongxin.sensors.policy`), not a queryset method."""

from __future__ import annotations

from django.db import models


class DeviceQuerySet(models.QuerySet):
    def active(self) -> DeviceQuerySet:
        return self.filter(active=True)

    def meters(self) -> DeviceQuerySet:
        from tongxin.sensors.choices import METER_KINDS

        return self.filter(kind__in=METER_KINDS)

    def sensors(self) -> DeviceQuerySet:
        """Devices that watch something (not meters): their crossings open cases."""
        from tongxin.sensors.choices import METER_KINDS

        return self.exclude(kind__in=METER_KINDS)
