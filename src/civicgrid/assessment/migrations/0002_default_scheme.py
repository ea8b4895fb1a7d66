"""The default scheme (see civicgrid/assessment/seed.py)."""

from typing import Any

from django.db import migrations


def seed(apps: Any, schema_editor: Any) -> None:
    from civicgrid.assessment.seed import seed_default_scheme

    seed_default_scheme(apps.get_model("assessment", "AssessmentScheme"))


def unseed(apps: Any, schema_editor: Any) -> None:
    from civicgrid.assessment.seed import DEFAULT_SCHEME

    apps.get_model("assessment", "AssessmentScheme").objects.filter(name=DEFAULT_SCHEME["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_scheme")]

    operations = [migrations.RunPython(seed, unseed)]
