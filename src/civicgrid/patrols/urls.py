from django.urls import path

from civicgrid.patrols import views

app_name = "patrols"

urlpatterns = [
    path("", views.phone, name="phone"),
    path("compliance/", views.compliance_home, name="compliance_home"),
    path("compliance/<str:code>/", views.compliance, name="compliance"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<int:patrol_id>/", views.review_detail, name="review_detail"),
    path("review/<int:patrol_id>/decide", views.review_decide, name="review_decide"),
]
