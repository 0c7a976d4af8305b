from django.contrib import admin

from tongxin.assembly.models import Body, BodyMember, Charter, Matter, Meeting, Ownership, Vote

admin.site.register([Body, BodyMember, Charter, Matter, Meeting, Ownership, Vote])
