"""Case photos: checked by content (never by name), limited in size, re-encoded.

``check_photo(upload)`` reads the bytes with Pillow (open + verify, then a full decode), allows
JPEG, PNG and WebP only, refuses files above CASES_PHOTO_MAX_BYTES or CASES_PHOTO_MAX_PIXELS,
and returns a ``CheckedPhoto`` with two freshly encoded copies:

- the staff copy: re-encoded (JPEG, or PNG for images with transparency) with the original
  EXIF kept (GPS included: staff may need the place), stored outside MEDIA_ROOT;
- the public copy: re-encoded from the pixels only (orientation applied first), with NO EXIF,
  no ICC/XMP/text chunks: nothing but the picture, under MEDIA_ROOT.

``photo_add(*, actor, case, checked, kind)`` stores both copies and writes an audit record.
``handling_photos_add(*, actor, case, checked, kind)`` stores the handler's before/after photos.
``case_photo_set_public(*, actor, photo, is_public, reason)`` hides a photo from the public
(tracking page) or shows it again: moderation right, scoped, audited, on the timeline."""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from civicgrid.accounts.scope import ensure_in_scope
from civicgrid.accounts.services import ensure_can_write
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.services import audit_record
from civicgrid.cases import selectors, services, workflow
from civicgrid.cases.enums import CaseAction, CaseStatus
from civicgrid.cases.models import Case, CasePhoto, PhotoKind
from civicgrid.common.errors import Forbidden, NotFound

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
JPEG_QUALITY = 85


@dataclass(frozen=True)
class CheckedPhoto:
    staff_bytes: bytes
    public_bytes: bytes
    extension: str  # "jpg" or "png"
    width: int
    height: int
    original_name: str


def _limits() -> tuple[int, int]:
    return int(settings.CASES_PHOTO_MAX_BYTES), int(settings.CASES_PHOTO_MAX_PIXELS)


def _read(upload: Any, max_bytes: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(_("照片不能超过%(mb)s MB") % {"mb": _mb(max_bytes)}, code="photo_too_large")
    if hasattr(upload, "seek"):
        upload.seek(0)
    data: bytes = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(_("照片不能超过%(mb)s MB") % {"mb": _mb(max_bytes)}, code="photo_too_large")
    if not data:
        raise ValidationError(_("照片文件是空的"), code="photo_empty")
    return data


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:g}"


def _encode(image: Image.Image, *, exif: bytes | None) -> tuple[bytes, str]:
    """Encode ``image`` afresh: PNG when it has transparency, else JPEG."""
    out = io.BytesIO()
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        converted = image.convert("RGBA")
        params: dict[str, Any] = {"optimize": True}
        if exif:
            params["exif"] = exif
        converted.save(out, format="PNG", **params)
        return out.getvalue(), "png"
    converted = image.convert("RGB")
    params = {"quality": JPEG_QUALITY, "optimize": True}
    if exif:
        params["exif"] = exif
    converted.save(out, format="JPEG", **params)
    return out.getvalue(), "jpg"


def check_photo(upload: Any) -> CheckedPhoto:
    """Validate one uploaded file by its content and return its two re-encoded copies.
    Raises ValidationError with a Chinese message for anything that is not a real,
    reasonably sized JPEG, PNG or WebP picture."""
    max_bytes, max_pixels = _limits()
    name = str(getattr(upload, "name", "") or "")[:100]
    data = _read(upload, max_bytes)
    fake = ValidationError(
        _("“%(name)s”不是有效的图片文件, 只接受 JPEG、PNG 或 WebP 照片") % {"name": name or _("文件")},
        code="photo_invalid",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if fmt not in ALLOWED_FORMATS:
                    raise fake
                if width * height > max_pixels:
                    raise ValidationError(
                        _("照片像素过大(%(w)d×%(h)d), 不能超过%(mp)s百万像素")
                        % {"w": width, "h": height, "mp": f"{max_pixels / 1e6:g}"},
                        code="photo_too_many_pixels",
                    )
                probe.verify()
            # verify() leaves the image unusable: open again and decode every pixel.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                exif = image.info.get("exif") if isinstance(image.info.get("exif"), bytes) else None
                if exif is None:
                    raw = image.getexif()
                    exif = raw.tobytes() if len(raw) else None
                staff_bytes, ext = _encode(image, exif=exif)
                upright = ImageOps.exif_transpose(image)
                public_bytes, _ext = _encode(upright, exif=None)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        raise fake from None
    return CheckedPhoto(staff_bytes, public_bytes, ext, width, height, name)


def check_photos(uploads: Iterable[Any], *, limit: int | None = None) -> list[CheckedPhoto]:
    """Check several uploads (at most ``limit``, default CASES_PHOTO_MAX_PER_REPORT)."""
    files = [u for u in uploads if u]
    limit = int(settings.CASES_PHOTO_MAX_PER_REPORT) if limit is None else limit
    if len(files) > limit:
        raise ValidationError(_("最多上传%(n)d张照片") % {"n": limit}, code="too_many_photos")
    return [check_photo(f) for f in files]


@transaction.atomic
def photo_add(*, actor: Any, case: Case, checked: CheckedPhoto, kind: str = PhotoKind.REPORT) -> CasePhoto:
    """Store one checked photo of ``case`` (both copies) and audit it. The caller has checked
    that ``actor`` may act on the case (staff: the case is visible to them)."""
    if kind not in PhotoKind.values:
        raise ValidationError({"kind": _("未知的照片类型")})
    stem = uuid.uuid4().hex
    user = actor if getattr(actor, "is_authenticated", False) else None
    photo = CasePhoto(
        case=case,
        kind=kind,
        width=checked.width,
        height=checked.height,
        area_code=case.area_code,
        uploaded_by=user,
    )
    photo.image.save(f"{stem}.{checked.extension}", ContentFile(checked.staff_bytes), save=False)
    photo.public_image.save(f"{stem}.{checked.extension}", ContentFile(checked.public_bytes), save=False)
    photo.save()
    audit_record(
        action=AuditAction.CREATE,
        obj=photo,
        area_code=case.area_code,
        changes={"case": {"before": None, "after": case.pk}, "kind": {"before": None, "after": kind}},
        message=f"photo for case {case.pk}",
        actor=user,
        actor_label="" if user else _("反映人"),
    )
    return photo


def _rename_public_copy(photo: CasePhoto) -> None:
    """Give the public copy a fresh random name, so a URL seen while it was public stops
    working (MEDIA_ROOT is served to anyone); the old file goes once the change is committed."""
    old_name = photo.public_image.name
    if not old_name:
        return
    storage = photo.public_image.storage
    try:
        with storage.open(old_name, "rb") as fh:
            data = fh.read()
    except OSError:
        return
    extension = old_name.rsplit(".", 1)[-1] if "." in old_name else "jpg"
    photo.public_image.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(data), save=False)
    transaction.on_commit(lambda: storage.delete(old_name))


@transaction.atomic
def case_photo_set_public(*, actor: Any, photo: CasePhoto | int, is_public: bool, reason: str) -> CasePhoto:
    """Hide a case photo from the public (tracking page, public copies) or show it again.
    Needs the moderation right (``services.can_moderate``, as ``case_moderate``) within the
    case's territory; NotFound when the actor cannot read the case. The reason is required;
    one timeline event (照片已隐藏 / 照片已恢复公开, not shown to the public) and one audit record.
    Setting the current value again changes nothing."""
    ensure_can_write(actor)
    pk = photo.pk if isinstance(photo, CasePhoto) else int(photo)
    current = CasePhoto.objects.select_for_update().filter(pk=pk).first()
    if current is None:
        raise NotFound(_("照片不存在"))
    case = selectors.case_get(actor, current.case_id)
    if not services.can_moderate(actor):
        raise Forbidden(_("您没有审核照片的权限"))
    ensure_in_scope(actor, case.area_code)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写原因")})
    if len(reason) > services.NOTE_MAX:
        raise ValidationError({"reason": _("原因不能超过%(n)d个字") % {"n": services.NOTE_MAX}})
    is_public = bool(is_public)
    if current.is_public == is_public:
        return current
    fields = ["is_public"]
    if not is_public:
        _rename_public_copy(current)
        fields.append("public_image")
    current.is_public = is_public
    current.save(update_fields=fields)
    change = {"before": not is_public, "after": is_public}
    services._record_event(
        case=case,
        actor=actor,
        action=CaseAction.PHOTO_SHOWN if is_public else CaseAction.PHOTO_HIDDEN,
        from_status=case.status,
        to_status=case.status,
        note=reason,
        data={"photo": {"id": current.pk, "kind": current.kind, "is_public": is_public}},
        changes={"photo_id": {"before": current.pk, "after": current.pk}, "photo_is_public": change},
        audit_action=AuditAction.UPDATE,
        is_transition=False,
    )
    return current


HANDLING_KINDS = frozenset({PhotoKind.BEFORE, PhotoKind.AFTER})


@transaction.atomic
def handling_photos_add(*, actor: Any, case: Case, checked: Iterable[CheckedPhoto], kind: str) -> list[CasePhoto]:
    """The handler's before/after photos (处置前 / 处置后) of a case being handled: only the
    current owner (the handler rule of ``workflow.ACTION_RULES``), while the case is in
    ``handling``. Each photo is stored and audited by ``photo_add``; the caller writes the
    timeline event that lists them (a handling record or the report back)."""
    ensure_can_write(actor)
    if kind not in HANDLING_KINDS:
        raise ValidationError({"photo_kind": _("处置照片只能是“处置前”或“处置后”")})
    items = list(checked)
    if not items:
        return []
    if case.status != CaseStatus.HANDLING:
        raise ValidationError({"photos": _("只有处置中的案件可以上传处置照片")})
    if not workflow.rule_allows(workflow.HANDLER, actor, case):
        raise Forbidden(_("只有当前处置人可以上传处置照片"))
    return [photo_add(actor=actor, case=case, checked=item, kind=kind) for item in items]
