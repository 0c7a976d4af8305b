from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区")
    SUBDISTRICT = "subdistrict", _("街道")
    COMMUNITY = "community", _("社区")
    ESTATE = "estate", _("小区")
    BUILDING = "building", _("楼栋")
    ENTRANCE = "entrance", _("单元")


REGION_KIND_ORDER = [k.value for k in RegionKind]
# Levels above the subdistrict: a city's districts and a district's subdistricts are summed, never scoped by a
# column of their own (dwellings and cases carry ``subdistrict_id``; a district is the set of its subdistricts).
ABOVE_SUBDISTRICT = (RegionKind.CITY.value, RegionKind.DISTRICT.value)
# How many path ids a node has counting from its subdistrict (itself included), whatever lies above.
LOCAL_DEPTH = {"subdistrict": 1, "community": 2, "estate": 3, "building": 4, "entrance": 5}


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("区/市管理员")
    SUBDISTRICT_ADMIN = "subdistrict_admin", _("街道管理员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    GRID_WORKER = "grid_worker", _("网格员")
    PROPERTY_STAFF = "property_staff", _("物业人员")
    DEPARTMENT_LIAISON = "department_liaison", _("部门联络员")
    VOLUNTEER = "volunteer", _("党员/志愿者")
    RESIDENT = "resident", _("居民")


# Roles that work with the registry of residents inside their scope.
REGISTRY_ROLES = frozenset(
    {Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.PROPERTY_STAFF}
)
# Roles that may see restricted tags (watched persons) of residents in their scope.
RESTRICTED_ROLES = frozenset({Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.GRID_WORKER})
# Roles that may reveal one personal value (audited): id numbers need the first set, phones the second.
REVEAL_ID_ROLES = frozenset({Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF})
REVEAL_PHONE_ROLES = frozenset({Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.GRID_WORKER})
STAFF_ROLES = frozenset(
    {
        Role.SUBDISTRICT_ADMIN,
        Role.COMMUNITY_STAFF,
        Role.GRID_WORKER,
        Role.PROPERTY_STAFF,
        Role.DEPARTMENT_LIAISON,
    }
)
