"""The default scheme (a 12345 接诉即办 style weighting); administrators change it in the admin."""

import datetime

from django.db import migrations

DEFAULT = {
    "name": "默认考核方案 (接诉即办)",
    "weight_on_time_sign_for": 20,
    "weight_resolution": 30,
    "weight_satisfaction": 30,
    "weight_closure": 10,
    "weight_rehandling": 10,
    "is_active": True,
    "effective_from": datetime.date(2000, 1, 1),
    "note": "按时签收率20、解决率30、满意率30、办结率10、发回重办率10 (越低越好)",
}


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    scheme = apps.get_model("assessment", "AssessmentScheme")
    if not scheme.objects.exists():
        scheme.objects.create(**DEFAULT)


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("assessment", "AssessmentScheme").objects.filter(name=DEFAULT["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_scheme")]

    operations = [migrations.RunPython(seed, unseed)]
