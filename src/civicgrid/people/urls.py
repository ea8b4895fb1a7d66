from django.urls import path

from civicgrid.people import views

app_name = "people"

urlpatterns: list = [path("", views.search, name="search")]
