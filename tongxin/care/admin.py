from django.contrib import admin

from tongxin.care.models import HealthService, Visit, VisitPlan


@admin.register(VisitPlan)
class VisitPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "grid", "kind", "tag", "interval_days", "active"]


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["due_on", "state", "household", "resident", "source", "visited_at"]
    list_filter = ["state", "source"]
    raw_id_fields = [
        "plan",
        "household",
        "resident",
        "dwelling",
        "subdistrict",
        "community",
        "estate",
        "building",
        "entrance",
        "grid",
        "assignee",
        "visitor",
        "case",
    ]


@admin.register(HealthService)
class HealthServiceAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "community", "starts_at", "capacity", "state"]
