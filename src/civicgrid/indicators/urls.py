from django.urls import path

from civicgrid.indicators import views

app_name = "indicators"

urlpatterns = [
    path("", views.register, name="register"),
    path("import/", views.import_page, name="import"),
    path("import/template/", views.import_template, name="import_template"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/enter/", views.enter, name="enter"),
]
