from django.contrib import admin

from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "region", "grid")
    list_filter = ("kind",)
    raw_id_fields = ("parent", "region", "grid", "secretary")


@admin.register(PartyMember)
class PartyMemberAdmin(admin.ModelAdmin):
    list_display = ("resident", "member_type", "organisation", "service_post", "employer")
    list_filter = ("member_type",)
    raw_id_fields = ("resident", "organisation", "employer")


@admin.register(ServicePost)
class ServicePostAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "community")


@admin.register(CoBuildingUnit)
class CoBuildingUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "committee_member", "liaison_name", "liaison_phone_masked")
    filter_horizontal = ("communities",)
    exclude = ("liaison_phone_enc",)
