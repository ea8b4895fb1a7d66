"""The demo's half-year of cases: the report's figures, realistic timelines, idempotent."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import shapely
from django.db.models import Count
from django.test import TestCase
from shapely.geometry import shape

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.audit.models import AuditEvent
from civicgrid.cases import metrics
from civicgrid.cases.enums import OPEN_STATUSES, Channel
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.services import case_owner_ok
from civicgrid.demo.builder import build_demo
from civicgrid.demo.cases import CLOSED, RECEIVED, build_cases

SEED = 7
ANCHOR = dt.datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


class DemoCasesTests(TestCase):
    result: dict[str, int]
    leader: User

    @classmethod
    def setUpTestData(cls) -> None:
        build_demo(seed=SEED, residents=200, out=io.StringIO(), migrate=False)
        # The builder anchors at today; rebuild the cases at a fixed anchor for exact checks.
        Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:").delete()
        cls.result = build_cases(seed=SEED, anchor=ANCHOR)
        cls.leader = User.objects.filter(role=Role.LEADER, is_active=True).first() or User.objects.get(
            username="leader"
        )

    def test_counts_near_the_report(self) -> None:
        qs = Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:")
        assert self.result["created"] == RECEIVED == qs.count() == 6017
        closed = qs.filter(closed_at__isnull=False).count()
        assert closed == CLOSED == 5940
        assert 0.985 <= closed / RECEIVED <= 0.995
        assert qs.filter(status__in=OPEN_STATUSES).count() == RECEIVED - CLOSED

    def test_metrics_of_the_half_year(self) -> None:
        r = metrics.case_metrics(
            self.leader, start=ANCHOR - dt.timedelta(days=183), end=ANCHOR - dt.timedelta(seconds=1)
        )
        assert r.received == 6017 and r.closed == 5940
        assert r.closure_rate is not None and 0.985 <= r.closure_rate <= 0.995
        assert r.satisfaction_rate is not None and 0.92 <= r.satisfaction_rate <= 0.98
        assert r.on_time_sign_for_rate is not None and r.on_time_sign_for_rate > 0.9
        assert r.on_time_closing_rate is not None and 0.85 < r.on_time_closing_rate < 1.0
        assert r.response_median_hours is not None and r.response_median_hours < 8
        assert r.handling_median_hours is not None and 4 < r.handling_median_hours < 24 * 7
        assert r.rehandling_rate is not None and 0 < r.rehandling_rate < 0.06
        assert r.repeat_complaint_rate is not None and 0 < r.repeat_complaint_rate < 0.2

    def test_spread_over_categories_channels_and_grids(self) -> None:
        qs = Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:")
        tops = {row["category__parent__code"] for row in qs.values("category__parent__code").annotate(n=Count("id"))}
        assert {"MD", "ZA", "MS", "SJ01", "BJ01"} <= tops
        channels = dict(qs.values_list("channel").annotate(n=Count("id")))
        assert channels[Channel.HOTLINE] > 0.6 * RECEIVED and len(channels) >= 4
        sample = list(qs.select_related("grid")[:300])
        for case in sample:
            assert case.grid is not None and case.area_code == case.grid.code
            assert shape(case.grid.geometry).covers(shapely.Point(case.lon, case.lat))
            assert case_owner_ok(case), case.status
            assert case.received_at < ANCHOR
            if case.closed_at:
                assert case.received_at < case.closed_at < ANCHOR
                assert case.acknowledged_at and case.received_at < case.acknowledged_at <= case.closed_at

    def test_timeline_events_and_one_audit_record(self) -> None:
        case = Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:", evaluated_at__isnull=False).first()
        assert case is not None
        actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
        assert actions[:4] == ["receive", "register", "dispatch", "acknowledge"]
        assert actions[-2:] == ["verify_pass", "evaluate"]
        assert AuditEvent.objects.filter(object_type="demo.build", object_id="cases").count() == 1

    def test_idempotent_and_deterministic(self) -> None:
        again = build_cases(seed=SEED, anchor=ANCHOR)
        assert again["created"] == 0
        codes = list(
            Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:")
            .order_by("received_at", "id")
            .values_list("tracking_code", "category__code", "received_at")[:50]
        )
        Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:").delete()
        build_cases(seed=SEED, anchor=ANCHOR)
        again_codes = list(
            Case.objects.filter(idempotency_key__startswith=f"demo:{SEED}:")
            .order_by("received_at", "id")
            .values_list("tracking_code", "category__code", "received_at")[:50]
        )
        assert codes == again_codes
