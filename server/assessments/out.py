"""Assessment rows and scales as the API shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.assessments import (
    AssessmentKind,
    AssessmentOut,
    AssessmentStatus,
    CapabilityChange,
    CapabilityOut,
    PlanLineOut,
    ReassessmentOut,
    ReassessmentStatus,
    ReassessReason,
)
from server.assessments.scale import Scale


def assessment_out(row: Any, scale: Scale) -> AssessmentOut:
    level = row.level
    return AssessmentOut(
        id=row.id,
        elder_id=row.elder_id,
        scale=row.scale,
        kind=AssessmentKind(row.kind),
        status=AssessmentStatus(row.status),
        answers=dict(row.answers),
        flags=list(row.flags),
        missing=list(row.missing),
        sections=dict(row.sections),
        total=row.total,
        level=level,
        level_name=None if level is None else scale.levels[level].name_zh,
        care_level=row.care_level,
        raised_by=list(row.raised_by),
        plan=[PlanLineOut(**ln) for ln in row.plan],
        plan_accepted=row.plan_rules is not None,
        scored_at=row.scored_at,
    )


def reassessment_out(row: Any) -> ReassessmentOut:
    return ReassessmentOut(
        id=row.id,
        elder_id=row.elder_id,
        due_on=row.due_on,
        reason=ReassessReason(row.reason),
        status=ReassessmentStatus(row.status),
        task_id=row.task_id,
    )


def capability_out(elder: Any, history: Sequence[Any], due: Sequence[Any]) -> CapabilityOut:
    return CapabilityOut(
        elder_id=elder.id,
        level=elder.capability_level,
        care_level=elder.care_level,
        history=[
            CapabilityChange(
                assessment_id=h.assessment_id,
                level=h.level,
                care_level=h.care_level,
                previous_level=h.previous_level,
                previous_care_level=h.previous_care_level,
                at=h.at,
            )
            for h in history
        ],
        reassessments=[reassessment_out(r) for r in due],
    )


def scale_out(scale: Scale) -> dict[str, Any]:
    return {
        "id": scale.scale_id,
        "version": scale.version,
        "key": scale.key,
        "title_zh": scale.title_zh,
        "total": scale.total,
        "items": [
            {
                "code": i.code,
                "section": i.section,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "max": i.max,
                "options": [{"score": sc, "zh": zh, "en": en} for sc, zh, en in i.options],
            }
            for i in scale.items
        ],
        "sections": [
            {"code": sec.code, "name_zh": sec.name_zh, "name_en": sec.name_en}
            for sec in scale.section_names
        ],
        "levels": [
            {
                "level": lv.level,
                "name_zh": lv.name_zh,
                "name_en": lv.name_en,
                "min_score": lv.min_score,
                "care_level": lv.care_level.value,
            }
            for lv in scale.levels
        ],
        "raise_one_level_if": sorted(scale.raisers),
    }
