from django.urls import path

from civicgrid.territory import views

app_name = "territory"

urlpatterns: list = [path("", views.browser, name="browser")]
