from __future__ import annotations

from typing import Any

from django.db import models

from tongxin.core import policy


class ResidentQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ResidentQuerySet:
        """Residents the user may see in the registry (people.view_resident: registry roles, inside their
        areas and grids; property staff and others see none)."""
        return policy.restrict(self, user, "people.view_resident")


class HouseholdQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> HouseholdQuerySet:
        return policy.restrict(self, user, "people.view_resident")  # the same registry rule as their members
