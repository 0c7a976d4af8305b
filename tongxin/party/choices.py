from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    SUBDISTRICT_COMMITTEE = "subdistrict_committee", _("街道党工委")
    COMMUNITY_COMMITTEE = "community_committee", _("社区党委")
    GRID_BRANCH = "grid_branch", _("网格党支部")
    ESTATE_BRANCH = "estate_branch", _("小区党支部")
    BUILDING_GROUP = "building_group", _("楼栋党小组")
    HOUSEHOLD_LEADER = "household_leader", _("党员中心户")


class MemberType(models.TextChoices):
    RESIDENT = "resident", _("居民党员")
    DUAL_REGISTERED = "dual_registered", _("在职党员(双报到)")
    MOBILE = "mobile", _("流动党员")
    ELDERLY_FRAIL = "elderly_frail", _("年老体弱党员")


class CoBuildingKind(models.TextChoices):
    ADOPTING = "adopting", _("包保单位")
    PARTNER = "partner", _("共建单位")
    RESIDENT_UNIT = "resident_unit", _("驻区单位")
