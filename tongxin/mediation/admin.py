from django.contrib import admin

from tongxin.mediation.models import Dispute, Mediator

admin.site.register([Dispute, Mediator])
