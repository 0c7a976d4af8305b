from __future__ import annotations

from typing import Any

from django.db import models

from tongxin.regions.scoping import scope_for


class RegionQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> RegionQuerySet:
        return self.filter(scope_for(user).region_q())

    def under(self, region: Any) -> RegionQuerySet:
        """Everything under ``region`` (itself included): one indexed prefix query."""
        return self.filter(path__startswith=region.path)


class GridQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> GridQuerySet:
        scope = scope_for(user)
        if scope.everything:
            return self
        q = models.Q(pk__in=sorted(scope.grid_ids))
        for kind, ids in scope.regions.items():
            if kind == "subdistrict":
                q |= models.Q(community__parent_id__in=sorted(ids))
            elif kind == "community":
                q |= models.Q(community_id__in=sorted(ids))
            else:
                q |= models.Q(**{f"dwellings__{kind}_id__in": sorted(ids)})
        if scope.estate_ids:
            q |= models.Q(dwellings__estate_id__in=sorted(scope.estate_ids))
        return self.filter(q).distinct()


class DwellingQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> DwellingQuerySet:
        return self.filter(scope_for(user).q())
