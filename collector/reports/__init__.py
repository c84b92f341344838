"""Reports: ranking and trend tables shaped with pandas, rendered for terminals, files and browsers."""

from collector.reports.html import render_html
from collector.reports.model import Ranking, Report, ReportRequest, Trend, parse_request
from collector.reports.render import render_csv, render_json, render_markdown, render_table

__all__ = [
    "Ranking",
    "Report",
    "ReportRequest",
    "Trend",
    "parse_request",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
]
