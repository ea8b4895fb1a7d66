from django.urls import path

from civicgrid.audit import views

app_name = "audit"

urlpatterns: list = [path("", views.events, name="events")]
