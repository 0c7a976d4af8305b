from django.contrib import admin

from tongxin.regions.models import Department, Dwelling, Grid, PropertyCompany, Region, RoleAssignment


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "number", "code", "parent", "grid")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("parent", "grid")


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "community", "chief")
    filter_horizontal = ("workers",)
    raw_id_fields = ("chief",)


@admin.register(Dwelling)
class DwellingAdmin(admin.ModelAdmin):
    list_display = ("number", "entrance", "building", "estate", "grid", "floor_area")
    raw_id_fields = ("entrance", "building", "estate", "community", "subdistrict", "grid")
    list_select_related = ("entrance", "building", "estate", "grid")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "subdistrict")


@admin.register(PropertyCompany)
class PropertyCompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "hotline", "has_party_branch")
    filter_horizontal = ("estates",)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "region", "grid", "department", "property_company")
    list_filter = ("role",)
    raw_id_fields = ("user", "region", "grid")
