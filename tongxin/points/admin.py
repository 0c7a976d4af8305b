from django.contrib import admin

from tongxin.points.models import (
    CollectionPoint,
    PointRule,
    PointsPolicy,
    Redemption,
    Reward,
    WasteType,
    WeighIn,
)

admin.site.register(PointsPolicy)
admin.site.register(WasteType)
admin.site.register(CollectionPoint)
admin.site.register(PointRule)
admin.site.register(Reward)


@admin.register(WeighIn)
class WeighInAdmin(admin.ModelAdmin):
    list_display = ["at", "household", "waste_type", "kg", "points"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # append-only, like the ledger rows they record


@admin.register(Redemption)
class RedemptionAdmin(WeighInAdmin):
    list_display = ["at", "household", "reward", "quantity", "points"]
