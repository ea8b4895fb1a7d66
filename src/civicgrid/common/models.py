"""Abstract bases shared by every app."""

from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AreaScopedModel(models.Model):
    """A record that belongs to a place. ``area_code`` is the hierarchical code of the
    smallest territory node that holds it (usually the grid). Scope filtering compares
    codes by prefix range (see civicgrid.accounts.scope), so it needs no joins."""

    area_code = models.CharField(max_length=20, db_index=True)

    class Meta:
        abstract = True
