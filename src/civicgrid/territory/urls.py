from django.urls import path

from civicgrid.territory import views

app_name = "territory"

urlpatterns = [
    path("", views.browser, name="browser"),
    path("area/<str:code>/", views.area, name="area"),
    path("grid/<str:code>/", views.grid, name="grid"),
    path("<str:code>/geojson", views.geojson, name="geojson"),
    path("<str:code>/children", views.children, name="children"),
]
