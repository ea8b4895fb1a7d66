from django.urls import path

from civicgrid.mobile import views

app_name = "mobile"

urlpatterns = [
    path("", views.tasks, name="tasks"),
    path("tasks/<int:pk>/", views.task, name="task"),
    path("tasks/<int:pk>/act/", views.act, name="act"),
    path("report/", views.report, name="report"),
    path("patrol/", views.patrol, name="patrol"),
    path("messages/", views.inbox, name="messages"),
    path("offline/", views.offline, name="offline"),
    path("session.json", views.session, name="session"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
]
