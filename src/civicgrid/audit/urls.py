from django.urls import URLPattern, path

from civicgrid.audit import views

app_name = "audit"

urlpatterns: list[URLPattern] = [
    path("", views.events, name="events"),
    path("export.csv", views.export_csv, name="export"),
]
