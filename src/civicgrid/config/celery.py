"""Celery for production (Redis broker). The embedded default runs tasks eagerly and
periodic work inside `civicgrid serve`, so no extra server is needed."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
app = Celery("civicgrid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
