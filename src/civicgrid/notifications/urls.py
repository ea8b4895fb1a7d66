from django.urls import path

from civicgrid.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("badge/", views.badge, name="badge"),
    path("read-all/", views.mark_all_read, name="read_all"),
    path("<int:pk>/read/", views.mark_read, name="read"),
    path("follow/case/<int:case_id>/", views.follow_case, name="follow_case"),
    path("follow/area/<str:area_code>/", views.follow_area, name="follow_area"),
]
