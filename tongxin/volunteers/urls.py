from django.urls import path

from tongxin.volunteers import resident_views, views

app_name = "volunteers"

urlpatterns = [
    path("", views.home, name="home"),
    path("posts/", views.post_list, name="posts"),
    path("posts/<int:pk>/", views.post_detail, name="post_detail"),
    path("activities/", views.activity_list, name="activities"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("ledger/", views.account_list, name="accounts"),
    path("ledger/check/", views.check_balances, name="check_balances"),
    path("ledger/<int:pk>/", views.account_detail, name="account_detail"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/visits/", views.visit_list, name="visits"),
    path("appraisal/", views.appraisal, name="appraisal"),
    path("talent/", views.talent_list, name="talent"),
    path("me/", resident_views.my_hours, name="my_hours"),
    path("me/activities/", resident_views.my_activities, name="my_activities"),
    path("me/activities/<int:pk>/join/", resident_views.join, name="join"),
    path("me/signups/<int:pk>/cancel/", resident_views.leave, name="leave"),
    path("me/offers/<int:pk>/use/", resident_views.use_offer, name="use_offer"),
    path("checkin/", resident_views.checkin, name="checkin"),
]
