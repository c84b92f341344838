"""The tidy table that csv and json carry, with a group's total rows marked, and json's group section."""

from __future__ import annotations

from typing import Any

import pandas as pd

from collector.reports.groups import MIN_BASE, TOTAL_ROW, GroupSummary, Mover
from collector.reports.model import Ranking, Report
from collector.reports.periods import last_compared

# The marker column of a group report: each row is a repository's or the group total's.
ROW_TYPE = "row_type"
REPOSITORY, GROUP_TOTAL = "repository", "group_total"


def tidy_frame(report: Report) -> pd.DataFrame:
    """The report's table without internal columns; a group report's also has the group total rows
    (repo "(group total)", `row_type` "group_total"; a trend's with `joined` and `members` per period)."""
    frame = report.table.drop(columns=["exists"])  # a new frame: the report itself stays untouched
    if not isinstance(report, Ranking):  # periods cut short or not over yet (see the notes)
        partial = {p.label for p in report.periods if p.partial}
        frame["partial"] = frame["period"].isin(partial)
    if report.group is None:
        return frame
    frame[ROW_TYPE] = REPOSITORY
    totals = _total_rows(report, report.group)
    if not isinstance(report, Ranking):
        frame["joined"] = pd.array([None] * len(frame), dtype="Int64")
        frame["members"] = pd.array([None] * len(frame), dtype="Int64")
    totals = totals.reindex(columns=frame.columns)
    for column in frame.columns:  # keep the nullable integer columns integers
        if isinstance(frame[column].dtype, pd.Int64Dtype):
            totals[column] = pd.array(totals[column].tolist(), dtype="Int64")
    return pd.concat([frame, totals], ignore_index=True)


def _total_rows(report: Report, group: GroupSummary) -> pd.DataFrame:
    if isinstance(report, Ranking):
        row: dict[str, Any] = {"repo": TOTAL_ROW, ROW_TYPE: GROUP_TOTAL, "archived": False, "notes": ""}
        row |= {metric: values[0] for metric, values in group.totals.items()}
        return pd.DataFrame([row])
    data: dict[str, Any] = {
        "repo": TOTAL_ROW,
        "period": [p.label for p in report.periods],
        "partial": [p.partial for p in report.periods],
        "as_of": [p.as_of for p in report.periods],
        "notes": "",
        ROW_TYPE: GROUP_TOTAL,
        "joined": list(group.joined),
        "members": list(group.member_counts),
    }
    data |= {metric: list(values) for metric, values in group.totals.items()}
    return pd.DataFrame(data)


def group_document(report: Report) -> dict[str, Any]:
    """json's `group` section: the group, how many members it has, and for a trend its movers and
    the members that joined before the first period (per period: the total rows' `joined`)."""
    group = report.group
    assert group is not None
    out: dict[str, Any] = {"name": group.name, "members": group.members}
    if isinstance(report, Ranking):
        return out
    out |= {"joined_before": group.joined_before, "joined_unknown": group.unknown_joins}
    out["movers"] = {
        "metric": group.metric,
        "from": report.periods[0].label,
        "to": report.periods[last_compared(report.periods, report.include_partial)].label,
        "min_base": MIN_BASE,
        "absolute": [_mover(m) for m in group.absolute],
        "relative": [_mover(m) for m in group.relative],
    }
    return out


def _mover(mover: Mover) -> dict[str, Any]:
    percent = None if mover.percent is None else round(mover.percent, 2)
    return {
        "repo": mover.repo,
        "first": mover.first,
        "last": mover.last,
        "change": mover.change,
        "percent": percent,
    }
