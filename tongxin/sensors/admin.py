from django.contrib import admin

from tongxin.sensors.models import Alert, AlertEvent, CareSignal, Device, IngestCount, MeterMonth


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("serial", "name", "kind", "estate", "online", "active", "last_measured_at", "last_value")
    list_filter = ("kind", "online", "active")
    search_fields = ("serial", "name", "place")
    raw_id_fields = (
        "region",
        "dwelling",
        "subdistrict",
        "community",
        "estate",
        "building",
        "entrance",
        "grid",
    )
    readonly_fields = ("token_prefix", "last_measured_at", "last_value", "online")


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    readonly_fields = ("type", "at", "rule", "value", "actor", "payload")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("device", "rule", "state", "opened_at", "crossings", "case")
    list_filter = ("state", "rule")
    raw_id_fields = ("device", "case")
    inlines = [AlertEventInline]


@admin.register(MeterMonth)
class MeterMonthAdmin(admin.ModelAdmin):
    list_display = ("device", "month", "consumption", "abnormal")
    list_filter = ("abnormal", "month")
    raw_id_fields = ("device", "dwelling")


@admin.register(CareSignal)
class CareSignalAdmin(admin.ModelAdmin):
    list_display = ("kind", "dwelling", "state", "detected_at", "handled_by")
    list_filter = ("state", "kind")
    raw_id_fields = ("dwelling", "resident", "device", "handled_by")


@admin.register(IngestCount)
class IngestCountAdmin(admin.ModelAdmin):
    list_display = ("day", "source", "outcome", "count")
    list_filter = ("source", "outcome")
