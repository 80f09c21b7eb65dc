"""The leadership group's quarter (领导小组季度): each street's yearly tasks and how
far it got (:mod:`analytics.quarter.assessment`, 考核), and the ranking of streets
for the quarterly 通报 (:mod:`analytics.quarter.ranking`). No Streamlit here."""

from __future__ import annotations

from analytics.quarter.assessment import (
    ASSESSMENT_COLUMNS,
    AssessmentError,
    assessment,
    export_assessment,
    task_rows,
)
from analytics.quarter.ranking import street_ranking

__all__ = [
    "ASSESSMENT_COLUMNS",
    "AssessmentError",
    "assessment",
    "export_assessment",
    "street_ranking",
    "task_rows",
]
