"""The seed attributes (Open311 service-definition questions) of a few categories. Plain data:
used by the data migration 0003 and idempotent (existing codes are left alone)."""

from __future__ import annotations

from typing import Any

YES_NO = [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]

# category code -> [(code, datatype, required, description, datatype_description, values)]
ATTRIBUTES: dict[str, list[tuple[str, str, bool, str, str, list[dict[str, str]]]]] = {
    "BJ0102": [
        ("lamp_count", "number", False, "不亮的路灯数量", "填写整数", []),
        (
            "lamp_state",
            "singlevaluelist",
            True,
            "路灯状况",
            "",
            [
                {"key": "off", "name": "全部不亮"},
                {"key": "flicker", "name": "闪烁"},
                {"key": "day", "name": "白天常亮"},
            ],
        ),
    ],
    "BJ0101": [
        (
            "hazard",
            "singlevaluelist",
            True,
            "井盖情况",
            "",
            [
                {"key": "missing", "name": "缺失"},
                {"key": "broken", "name": "破损"},
                {"key": "shifted", "name": "移位"},
                {"key": "noise", "name": "异响"},
            ],
        ),
        ("on_road", "singlevaluelist", False, "是否位于车行道", "", YES_NO),
    ],
    "SJ0503": [
        ("plate", "string", False, "车牌号", "如 蒙A12345", []),
        ("blocking", "singlevaluelist", True, "是否堵塞消防通道或出入口", "", YES_NO),
    ],
    "SJ0301": [
        ("noise_time", "datetime", False, "施工噪声开始时间", "W3C 日期时间, 如 2025-05-01T22:30:00+08:00", []),
        (
            "noise_kind",
            "multivaluelist",
            False,
            "噪声来源",
            "可多选",
            [{"key": "drill", "name": "电钻"}, {"key": "truck", "name": "渣土车"}, {"key": "pile", "name": "打桩"}],
        ),
    ],
    "SJ0406": [
        ("depth_cm", "number", False, "积水深度(厘米)", "填写数字", []),
        ("detail", "text", False, "积水范围说明", "", []),
    ],
}


def seed_attributes(category_model: Any, attribute_model: Any) -> int:
    """Create the missing seed attributes; returns how many were created."""
    created = 0
    for code, specs in ATTRIBUTES.items():
        category = category_model.objects.filter(code=code).first()
        if category is None:
            continue
        for order, (attr_code, datatype, required, description, datatype_description, values) in enumerate(
            specs, start=1
        ):
            _obj, made = attribute_model.objects.get_or_create(
                category=category,
                code=attr_code,
                defaults={
                    "datatype": datatype,
                    "required": required,
                    "description": description,
                    "datatype_description": datatype_description,
                    "order": order,
                    "values": values,
                },
            )
            created += int(made)
    return created
