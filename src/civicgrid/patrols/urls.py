from django.urls import path

from civicgrid.patrols import views

app_name = "patrols"

urlpatterns = [
    path("", views.phone, name="phone"),
]
