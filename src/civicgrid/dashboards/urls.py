from django.urls import path

from civicgrid.dashboards import rankings, views

app_name = "dashboards"

urlpatterns = [
    path("", views.home, name="home"),
    path("screen/<str:code>/", views.screen, name="screen"),
    path("cases/", views.drilldown, name="drilldown"),
    path("rankings/", rankings.rankings_page, name="rankings"),
]
