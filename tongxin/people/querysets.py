from __future__ import annotations

from typing import Any

from django.db import models

from tongxin.regions.scoping import scope_for


class ResidentQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ResidentQuerySet:
        """Residents living in a dwelling inside the user's scope.

        Restricted tags (watched person) are hidden from roles without ``sees_restricted`` where tags are shown
        and filtered, not by hiding the person: a property clerk must still find the resident who called.
        """
        return self.filter(scope_for(user).q("dwelling__"))


class HouseholdQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> HouseholdQuerySet:
        return self.filter(scope_for(user).q("dwelling__"))
