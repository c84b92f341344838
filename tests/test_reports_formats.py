"""Every report format, checked against numbers computed here from the rows put in the store."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from collector.config import Config
from collector.domain import HistoryPoint, RepoName, Repository, Snapshot, parse_repo_name
from collector.reports import (
    Ranking,
    Trend,
    parse_request,
    render_csv,
    render_html,
    render_json,
    render_markdown,
    render_table,
)
from collector.reports.build import make_report
from collector.reports.model import RANKING_COLUMNS, Footnotes
from collector.store.engine import session_factory, transaction
from collector.store.history import save_history_daily, save_history_weekly, save_snapshot
from collector.store.models import SeriesState
from collector.store.repos import save_repository, save_tracked_name
from tests.conftest import Store

TODAY = date(2026, 11, 27)
XSS = "<script>alert(1)</script> & friends | *bold*"


@dataclass
class Sample:
    """What one repository has in the store, kept in plain Python to compute expectations from."""

    name: str
    github_id: int
    created: date
    adds: dict[str, dict[date, int]] = field(default_factory=dict)  # metric -> day -> additions
    snaps: dict[date, tuple[int, int, int | None]] = field(default_factory=dict)  # stars, forks, contributors
    commits: dict[date, int] = field(default_factory=dict)  # week start (Sunday) -> commits
    unavailable: dict[str, str] = field(default_factory=dict)
    former: str | None = None
    description: str | None = None
    language: str | None = None

    def first_day(self) -> date:
        days = [d for series in self.adds.values() for d in series] + list(self.snaps) + list(self.commits)
        return min(days)

    def value(self, metric: str, day: date) -> int | None:
        """The cumulative value at the end of `day`, by the documented precedence."""
        if day < self.created or day < self.first_day():
            return None
        index = ("stars", "forks", "contributors").index(metric)
        rebuilt = sum(v for d, v in self.adds[metric].items() if d <= day) if metric in self.adds else None
        if metric == "contributors" and rebuilt is not None:  # the walk wins wherever there is one
            return rebuilt
        if day in self.snaps and self.snaps[day][index] is not None:
            return self.snaps[day][index]
        if rebuilt is not None:
            return rebuilt
        earlier = [d for d in self.snaps if d <= day]
        return self.snaps[max(earlier)][index] if earlier else None

    def commits_in(self, start: date, end: date) -> int | None:
        weeks = [v for d, v in self.commits.items() if start <= d <= end]
        return sum(weeks) if weeks else None


def d(text: str) -> date:
    return date.fromisoformat(text)


def samples() -> list[Sample]:
    alpha = Sample(
        name="deep/alpha",
        github_id=11,
        created=d("2016-01-10"),
        adds={
            "stars": {d("2016-01-10"): 5, d("2016-02-15"): 7, d("2016-03-20"): 11},
            "forks": {d("2016-01-12"): 2, d("2016-03-01"): 3},
        },
        snaps={d("2016-03-31"): (30, 6, 4)},
        commits={d("2016-01-10") + timedelta(weeks=k): 3 * k + 1 for k in range(14)},
        unavailable={"contributors": "the contributor list is too large for the API"},
        description=XSS,
        language="Python",
    )
    beta = Sample(
        name="new/beta",
        former="old/beta",
        github_id=22,
        created=d("2016-02-20"),
        snaps={d("2016-02-25"): (100, 10, 3), d("2016-03-10"): (120, 12, 5)},
        unavailable={"stars": "star history needs admin access since 2026-06-30"},
        language="C++",
        description="Fast " + "and small " * 10,
    )
    return [alpha, beta]


def fill(engine: Engine, data: list[Sample]) -> None:
    """Put the samples in the store through the store API."""
    sessions = session_factory(engine)
    for sample in data:
        with transaction(sessions) as s:
            first = sample.former or sample.name
            save_tracked_name(s, parse_repo_name(first))
            row = save_repository(
                s,
                Repository(
                    github_id=sample.github_id,
                    full_name=first,
                    created_at=datetime.combine(sample.created, datetime.min.time(), UTC)
                    + timedelta(hours=9),
                    primary_language=sample.language,
                    description=sample.description,
                ),
                requested=parse_repo_name(first),
            )
            if sample.former:
                row = save_repository(
                    s,
                    Repository(
                        github_id=sample.github_id,
                        full_name=sample.name,
                        created_at=row.created_at,
                        primary_language=sample.language,
                        description=sample.description,
                    ),
                )
            for metric, days in sample.adds.items():
                save_history_daily(s, row.id, [HistoryPoint(metric, k, v, "test") for k, v in days.items()])
            save_history_weekly(
                s, row.id, [HistoryPoint("commits", k, v, "test") for k, v in sample.commits.items()]
            )
            for day, (stars, forks, contributors) in sample.snaps.items():
                at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=20)
                save_snapshot(s, row.id, Snapshot(at, stars, forks, 7, 8, contributors=contributors))
            for series, detail in sample.unavailable.items():
                s.add(
                    SeriesState(
                        repo_id=row.id, series=series, status="unavailable", detail=detail, updated_at=at
                    )
                )


def report_for(store: Store, options: dict[str, object]) -> Ranking | Trend:
    with store.sessions() as session:
        return make_report(session, parse_request(options, TODAY), Config())


def load(session: Session, name: str) -> RepoName:
    return parse_repo_name(name)


# --- parsing the human formats back into cells ---------------------------------------------------------


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


def markdown_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip().replace("\\", "") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if set("".join(cells)) <= set("-: "):
                continue
            if current is None:
                current = []
                tables.append(current)
            current.append(cells)
        else:
            current = None
    return tables


def terminal_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith(("┃", "│")):
            cells = [c.strip() for c in re.split(r"[┃│]", line)[1:-1]]
            if current is None:
                current = []
                tables.append(current)
            current.append(cells)
        elif line.startswith(("└", "Trend", "Popularity")) or not line.startswith(("┏", "┡", "┣", "├")):
            current = None
    return tables


def shown(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


# --- the ranking ---------------------------------------------------------------------------------------


def expected_ranking(data: list[Sample], day: date) -> list[tuple[str, int | None, int | None, int | None]]:
    rows = [
        (s.name, s.value("stars", day), s.value("forks", day), s.value("contributors", day)) for s in data
    ]
    return sorted(rows, key=lambda r: (-(r[1] if r[1] is not None else -1), r[0]))


def test_ranking_in_every_format(store: Store) -> None:
    data = samples()
    fill(store.engine, data)
    day = d("2016-03-15")
    expected = expected_ranking(data, day)
    assert [r[0] for r in expected] == ["new/beta", "deep/alpha"]  # the fixture means what we think
    assert expected[1][1:] == (12, 5, None)
    report = report_for(store, {"at": "2016-03-15"})
    assert isinstance(report, Ranking)

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert list(rows[0])[:5] == ["rank", "repo", "stars", "forks", "contributors"]
    for rank, (row, (name, stars, forks, contributors)) in enumerate(zip(rows, expected, strict=True), 1):
        assert (row["rank"], row["repo"]) == (str(rank), name)
        assert (row["stars"], row["forks"], row["contributors"]) == tuple(
            "" if v is None else str(v) for v in (stars, forks, contributors)
        )
    assert rows[0]["source"] == "carried" and rows[1]["source"] == "reconstructed"
    assert rows[1]["description"] == XSS and rows[1]["language"] == "Python"
    assert "contributors n/a: the contributor list is too large" in rows[1]["notes"]

    document = json.loads(render_json(report))
    assert document["report"] == "ranking" and document["at"] == "2016-03-15"
    assert [(r["repo"], r["stars"], r["forks"], r["contributors"]) for r in document["rows"]] == expected
    assert [r["rank"] for r in document["rows"]] == [1, 2]

    footnote = "[1] contributors of deep/alpha: the contributor list is too large for the API"
    human = [(name, shown(s), shown(f), shown(c) or "(n/a)[1]") for name, s, f, c in expected]
    for text, tables in (
        (render_markdown(report), markdown_tables(render_markdown(report))),
        (render_html(report), html_tables(render_html(report))),
        (render_table(report), terminal_tables(render_table(report))),
    ):
        (table,) = tables
        assert table[0][:5] == ["rank", "repository", "stars", "forks", "contributors"]
        assert [tuple(r[1:5]) for r in table[1:]] == human
        assert [r[0] for r in table[1:]] == ["1", "2"]
        assert footnote in text.replace("\\", "")


def test_ranking_before_creation_is_empty_and_unavailable_is_marked(store: Store) -> None:
    data = samples()
    fill(store.engine, data)
    # new/beta exists from 2016-02-20 but its first data is 2016-02-25; its star history is unavailable.
    report = report_for(store, {"at": "2016-02-22"})
    rows = {r["repo"]: r for r in json.loads(render_json(report))["rows"]}
    assert rows["new/beta"]["stars"] is None and rows["new/beta"]["forks"] is None
    assert rows["new/beta"]["rank"] is None
    assert rows["deep/alpha"]["stars"] == 12
    table = markdown_tables(render_markdown(report))[0]
    cells = {r[1]: r[2:5] for r in table[1:]}
    assert cells["new/beta"] == ["(n/a)[2]", "", ""] or cells["new/beta"] == ["(n/a)[1]", "", ""]
    assert cells["deep/alpha"][2].startswith("(n/a)[")

    before = report_for(store, {"at": "2016-01-05"})  # neither existed yet: empty, not zero, not n/a
    for row in json.loads(render_json(before))["rows"]:
        assert (row["stars"], row["forks"], row["contributors"], row["source"]) == (None, None, None, None)
    assert all(r[2:5] == ["", "", ""] for r in markdown_tables(render_markdown(before))[0][1:])


# --- trends --------------------------------------------------------------------------------------------

MONTHS = [("2016-01", d("2016-01-01"), d("2016-01-31")), ("2016-02", d("2016-02-01"), d("2016-02-29"))]
MONTHS += [("2016-03", d("2016-03-01"), d("2016-03-31")), ("2016-04", d("2016-04-01"), d("2016-04-30"))]


def expected_trend(data: list[Sample]) -> dict[tuple[str, str], dict[str, int | None]]:
    out = {}
    for sample in data:
        for label, start, end in MONTHS:
            out[(sample.name, label)] = {
                "stars": sample.value("stars", end),
                "forks": sample.value("forks", end),
                "contributors": sample.value("contributors", end),
                "commits": sample.commits_in(start, end) if end >= sample.created else None,
            }
    return out


def test_trend_in_every_format(store: Store) -> None:
    data = samples()
    fill(store.engine, data)
    expected = expected_trend(data)
    # Spot checks of the precedence: observed beats reconstructed at 03-31, reconstructed after it.
    assert expected[("deep/alpha", "2016-03")]["stars"] == 30
    assert expected[("deep/alpha", "2016-04")]["stars"] == 23
    assert expected[("new/beta", "2016-01")]["stars"] is None
    report = report_for(store, {"since": "2016-01", "until": "2016-04"})
    assert isinstance(report, Trend)

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert list(rows[0])[:6] == ["repo", "period", "stars", "forks", "contributors", "commits"]
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(row["repo"], row["period"])]
        assert {m: row[m] for m in want} == {m: "" if v is None else str(v) for m, v in want.items()}
    assert {r["source"] for r in rows if r["repo"] == "new/beta" and r["period"] != "2016-01"} == {"carried"}
    observed = [r for r in rows if r["repo"] == "deep/alpha" and r["period"] == "2016-03"]
    assert observed[0]["source"] == "observed"

    document = json.loads(render_json(report))
    assert document["report"] == "trend" and document["every"] == "month"
    got = {
        (r["repo"], r["period"]): {m: r[m] for m in expected[("deep/alpha", "2016-01")]}
        for r in document["rows"]
    }
    assert got == expected
    assert document["repositories"] == [
        {"repo": s.name, "language": s.language, "archived": False, "description": s.description}
        for s in data
    ]

    for text, tables in (
        (render_markdown(report), markdown_tables(render_markdown(report))),
        (render_html(report), html_tables(render_html(report))),
        (render_table(report, width=200), terminal_tables(render_table(report, width=200))),
    ):
        assert len(tables) == 5  # one per metric, then the repositories with their descriptions
        about = tables[4]
        assert about[0] == ["repository", "language", "archived", "description"]
        assert [r[:3] for r in about[1:]] == [["deep/alpha", "Python", ""], ["new/beta", "C++", ""]]
        # Escaped as text in Markdown and HTML; the terminal cuts it to fit.
        assert unescape(about[1][3]) == XSS or about[1][3].startswith(XSS[:20])
        for metric, table in zip(("stars", "forks", "contributors", "commits"), tables[:4], strict=True):
            check_metric_table(metric, table, data, expected)
        # Stars at the end: beta 120, alpha 23; at the start only alpha had stars, so beta is new.
        assert [r[0] for r in tables[0][1:]] == ["new/beta", "deep/alpha"]
        assert [r[7] for r in tables[0][1:]] == ["new", "-1"]
        assert "the contributor list is too large for the API" in text
        # new/beta's stars are known from its first observation on, so that footnote is not needed here.
        assert "star history needs admin access" not in text


def check_metric_table(
    metric: str,
    table: list[list[str]],
    data: list[Sample],
    expected: dict[tuple[str, str], dict[str, int | None]],
) -> None:
    """A human trend table of `metric`: values per month (n/a where the series is unavailable), change."""
    notes = {("deep/alpha", "contributors"), ("new/beta", "stars")}
    assert table[0] == [
        "repository",
        "2016-01",
        "2016-02",
        "2016-03",
        "2016-04",
        "change",
        "change %",
        "rank move",
    ]
    for row in table[1:]:
        repo = row[0]
        values = [expected[(repo, label)][metric] for label, _, _ in MONTHS]
        for cell, value, (_, _, end) in zip(row[1:5], values, MONTHS, strict=True):
            sample = next(s for s in data if s.name == repo)
            if value is None and (repo, metric) in notes and end >= sample.created:
                assert re.fullmatch(r"\(n/a\)\[\d\]", cell), (metric, repo, cell)
            else:
                assert cell == shown(value), (metric, repo, cell)
        known = [v for v in values if v is not None]
        change = known[-1] - known[0] if len(known) > 1 else None
        assert row[5] == shown(change)
        percent = f"{100 * change / known[0]:+.1f}%" if change is not None and known[0] else ""
        assert row[6] == percent


def test_terminal_table_narrower_than_a_trend_splits_it_into_blocks_without_losing_a_value(
    store: Store,
) -> None:
    fill(store.engine, samples())
    report = report_for(store, {"since": "2016-01-03", "until": "2016-04-30", "every": "week"})
    text = render_table(report, width=80)
    assert all(len(line) <= 80 for line in text.splitlines() if line[:1] in "┏┃┡│└")
    tables = terminal_tables(text)
    assert len(tables) > 4  # 18 weeks do not fit in 80 columns
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    labels = sorted({r["period"] for r in rows})
    blocks = iter(tables)
    for metric in ("stars", "forks", "contributors", "commits"):
        # A metric's blocks, side by side again: each repeats the repository column, whole.
        header, cells = ["repository"], dict[str, list[str]]()
        while len(header) < 1 + len(labels) + 3:
            block = next(blocks)
            assert block[0][0] == "repository"
            header += block[0][1:]
            for row in block[1:]:
                cells.setdefault(row[0], []).extend(row[1:])
        assert header == ["repository", *labels, "change", "change %", "rank move"]
        assert sorted(cells) == ["deep/alpha", "new/beta"]
        for row in rows:
            cell = cells[row["repo"]][labels.index(row["period"])]
            if row[metric]:
                assert cell == f"{int(row[metric]):,}", (metric, row)
            else:
                assert cell == "" or re.fullmatch(r"\(n/a\)\[\d\]", cell), (metric, row, cell)
    about = next(blocks)  # the repositories, their descriptions cut to fit the width instead
    assert about[0] == ["repository", "language", "archived", "description"]
    assert about[1][3].endswith("…") and XSS.startswith(about[1][3][:-1])
    assert next(blocks, None) is None


def test_weekly_periods_are_labelled_by_their_sunday(store: Store) -> None:
    data = samples()
    fill(store.engine, data)
    report = report_for(store, {"since": "2016-03-01", "until": "2016-03-19", "every": "week"})
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    labels = sorted({r["period"] for r in rows})
    assert labels == ["2016-02-28", "2016-03-06", "2016-03-13"]
    alpha = {r["period"]: r for r in rows if r["repo"] == "deep/alpha"}
    for label in labels:
        sunday = d(label)
        end = min(sunday + timedelta(days=6), d("2016-03-19"))
        assert alpha[label]["stars"] == str(data[0].value("stars", end))
        assert alpha[label]["commits"] == str(data[0].commits[sunday])
    quarters = report_for(store, {"since": "2016-01", "until": "2016-12", "every": "quarter"})
    assert sorted({r["period"] for r in json.loads(render_json(quarters))["rows"]}) == [
        "2016-Q1",
        "2016-Q2",
        "2016-Q3",
        "2016-Q4",
    ]
    years = report_for(store, {"since": "2016-01", "until": "2017-02", "every": "year", "metric": "stars"})
    assert list(csv.DictReader(io.StringIO(render_csv(years))))[0]["period"] == "2016"


def test_former_name_resolves_and_html_escapes_github_text(store: Store) -> None:
    fill(store.engine, samples())
    report = report_for(store, {"at": "2016-03-15", "repos": ["OLD/beta", "deep/alpha"]})
    assert list(report.table["repo"]) == ["new/beta", "deep/alpha"]
    page = render_html(report)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in page
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    markdown = render_markdown(report)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    terminal = render_table(report, width=100)
    assert "…" in terminal  # the long description is truncated to fit


def test_csv_fields_round_trip_and_formulas_are_defused() -> None:
    texts = ['comma, "quote"\nnew line', "=1+2", "-5", "", "back\rreturn", "plain"]
    table = pd.DataFrame(
        {
            "rank": pd.array([1, 2, 3, 4, 5, None], dtype="Int64"),
            "repo": [f"o/r{k}" for k in range(6)],
            **{m: pd.array([7, None, 0, 1, 2, 3], dtype="Int64") for m in ("stars", "forks", "contributors")},
            "language": ["C", None, "C++", "", "Go", "Go"],
            "archived": [False, True, False, False, False, False],
            "description": texts,
            **{c: ["observed", None, None, None, None, None] for c in RANKING_COLUMNS[8:12]},
            "notes": [""] * 6,
            "exists": [True] * 6,
        }
    )
    rows = list(csv.DictReader(io.StringIO(render_csv(Ranking(TODAY, table, Footnotes())))))
    assert [r["description"] for r in rows] == [
        'comma, "quote"\nnew line',
        "'=1+2",
        "-5",
        "",
        "back\rreturn",
        "plain",
    ]
    assert [(r["rank"], r["stars"], r["language"], r["archived"]) for r in rows[:2]] == [
        ("1", "7", "C", "false"),
        ("2", "", "", "true"),
    ]
