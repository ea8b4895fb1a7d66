"""/api/assessment/schemes: the assessment schemes (weights of the ranking score). Everyone who
may see the rankings reads them; the system administrator creates and changes them (audited;
weights that do not sum to 100 are a 400 with the field ``weights``)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from civicgrid.accounts.permissions import require_capability
from civicgrid.assessment import services
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.assessment.permissions import VIEW_RANKINGS, may_manage_schemes
from civicgrid.assessment.schemas import SchemeIn, SchemeOut, SchemePatch

router = Router(tags=["assessment"])


@router.get("/schemes", response=list[SchemeOut], summary="考核方案列表 (最新生效在前)")
@paginate
def schemes(request: HttpRequest) -> QuerySet[AssessmentScheme]:
    if not may_manage_schemes(request.user):
        require_capability(request.user, VIEW_RANKINGS)
    return AssessmentScheme.objects.order_by("-effective_from", "-id")


@router.post("/schemes", response={201: SchemeOut}, summary="新增考核方案 (权重合计必须为100)")
def create(request: HttpRequest, body: SchemeIn) -> Status[AssessmentScheme]:
    return Status(201, services.assessment_scheme_create(actor=request.user, data=body.dict()))


@router.patch("/schemes/{scheme_id}", response=SchemeOut, summary="修改考核方案")
def update(request: HttpRequest, scheme_id: int, body: SchemePatch) -> AssessmentScheme:
    data = body.dict(exclude_unset=True)
    return services.assessment_scheme_update(actor=request.user, scheme_id=scheme_id, data=data)
