from django.urls import path

from civicgrid.dashboards import gridmap, rankings, views

app_name = "dashboards"

urlpatterns = [
    path("", views.home, name="home"),
    path("screen/<str:code>/", views.screen, name="screen"),
    path("cases/", views.drilldown, name="drilldown"),
    path("rankings/", rankings.rankings_page, name="rankings"),
    path("map/", gridmap.gridmap_home, name="gridmap_home"),
    path("map/<str:code>/", gridmap.gridmap_page, name="gridmap"),
]
