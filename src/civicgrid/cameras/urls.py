from django.urls import path

from civicgrid.cameras import views

app_name = "cameras"

urlpatterns = [
    path("", views.registry, name="registry"),
    path("alerts/", views.alerts, name="alerts"),
    path("<int:camera_id>/", views.detail, name="detail"),
]
