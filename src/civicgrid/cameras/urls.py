from django.urls import path

from civicgrid.cameras import views

app_name = "cameras"

urlpatterns = [
    path("", views.registry, name="registry"),
    path("alerts/", views.alerts, name="alerts"),
    path("<int:camera_id>/", views.detail, name="detail"),
    path("import/", views.import_page, name="import"),
    path("import/template/", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_job, name="import_job"),
    path("import/<int:pk>/commit/", views.import_commit, name="import_commit"),
]
