from django.contrib import admin

from tongxin.volunteers.models import (
    Activity,
    CaseHourRule,
    DutyShift,
    MemberAlertRule,
    PostAssignment,
    PostCategory,
    ServiceOffer,
    SignUp,
    TimeBankPolicy,
)

admin.site.register(TimeBankPolicy)
admin.site.register(MemberAlertRule)
admin.site.register(CaseHourRule)
admin.site.register(PostAssignment)
admin.site.register(PostCategory)
admin.site.register(DutyShift)
admin.site.register(Activity)
admin.site.register(SignUp)
admin.site.register(ServiceOffer)
