"""Which number a series shows when GitHub's count and the rebuilt one measure different sets (issue 10).

Forks: GitHub's forkCount (the whole network) wins; the direct forks listed are scaled to it. Contributors:
the commit walk wins wherever it exists, on observed days too; without a walk the observations show.
Every store test here runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import func, select, text

from collector.cli.status import render_gap, render_versus
from collector.config import Config
from collector.domain import (
    ForkInfo,
    ForkScale,
    Repository,
    Snapshot,
    compute_scaled_additions,
    parse_repo_name,
)
from collector.jobs.commit_history import ContributorsProgress
from collector.reports.build import make_report
from collector.reports.model import Ranking, ReportRequest
from collector.store.checkpoints import (
    Checkpoint,
    SeriesStatus,
    load_checkpoint,
    rebuild_contributor_days,
    rebuild_fork_days,
    save_checkpoint,
    save_forks,
    save_identities,
)
from collector.store.engine import transaction
from collector.store.history import save_snapshot
from collector.store.models import HistoryDaily, HistoryMonthly, SeriesState
from collector.store.reports import load_period_values
from collector.store.repos import save_repository
from collector.store.runs import load_repo_status
from tests.conftest import Store

JAN = [date(2017, 1, d) for d in range(1, 32)]


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour)


def snap(day: date, stars: int, forks: int, contributors: int | None, hour: int = 18) -> Snapshot:
    return Snapshot(at(day, hour), stars, forks, 1, 1, contributors=contributors)


def _plain(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload, arg-type]


def _daily(store: Store, column: str, repo: str) -> dict[date, int | None]:
    """One column of repo_daily for one repository, by day."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT day, stars, forks, contributors FROM repo_daily WHERE repo = :r ORDER BY day"),
            {"r": repo},
        ).all()
    return {date.fromisoformat(str(r.day)): _plain(getattr(r, column)) for r in rows}


def _at_each_day(store: Store, repo_ids: list[int], days: list[date]) -> pd.DataFrame:
    """What the ranking reads: load_period_values for one day at a time (a day is one period)."""
    with store.sessions() as s:
        frames = [load_period_values(s, repo_ids, "day", day, day) for day in days]
    return pd.concat(frames).sort_values(["repo_id", "as_of"], kind="stable")


def _cumulative(store: Store, repo_id: int) -> dict[date, int]:
    """The stored fork history as cumulative values per day with a row."""
    with store.sessions() as s:
        rows = s.execute(
            select(HistoryDaily.day, HistoryDaily.value)
            .where(HistoryDaily.repo_id == repo_id, HistoryDaily.metric == "forks")
            .order_by(HistoryDaily.day)
        ).all()
    out, total = {}, 0
    for day, value in rows:
        total += value
        out[day] = total
    return out


# --- forks ---------------------------------------------------------------------------------------------


def test_scaled_additions_round_half_up_and_reach_the_observation() -> None:
    adds = {JAN[0]: 2, JAN[1]: 3, JAN[2]: 5}
    # Running direct totals 2, 5, 10 times 15/10: 3, 7.5 -> 8, 15.
    assert compute_scaled_additions(adds, 15, 10) == {JAN[0]: 3, JAN[1]: 5, JAN[2]: 7}
    # Scaling down can leave a day without an addition; the total never decreases.
    assert compute_scaled_additions({JAN[0]: 1, JAN[1]: 1, JAN[2]: 1, JAN[3]: 1}, 2, 4) == {
        JAN[0]: 1,
        JAN[2]: 1,
    }
    assert compute_scaled_additions(adds, 7, 7) == adds


def _ten_direct_forks(store: Store, name: str = "net/work") -> int:
    """One direct fork a day on January 1..10, 2017."""
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(github_id=77, full_name=name), tracked=True).id
        save_forks(s, repo_id, [ForkInfo(1000 + k, at(JAN[k])) for k in range(10)])
    return repo_id


def test_forks_without_an_observation_are_the_direct_counts(store: Store) -> None:
    repo_id = _ten_direct_forks(store)
    with transaction(store.sessions) as s:
        scale = rebuild_fork_days(s, repo_id)
    assert scale == ForkScale(observed=None, direct=10, factor=1.0)
    assert _cumulative(store, repo_id) == {JAN[k]: k + 1 for k in range(10)}


def test_fork_history_is_scaled_to_githubs_network_count(store: Store) -> None:
    repo_id = _ten_direct_forks(store)
    with transaction(store.sessions) as s:
        save_snapshot(s, repo_id, snap(JAN[9], 100, 15, None))  # 18:00, after the tenth fork
        # An 11th direct fork after the observation: scaled alike, continuing the series.
        save_forks(s, repo_id, [ForkInfo(2000, at(JAN[11]))])
        scale = rebuild_fork_days(s, repo_id)
    assert scale == ForkScale(observed=15, direct=10, factor=1.5)
    cumulative = _cumulative(store, repo_id)
    # round(k * 1.5), half up: 1.5 -> 2, 4.5 -> 5, ..., 15 on the observed day, 16.5 -> 17.
    assert cumulative == {
        JAN[0]: 2,
        JAN[1]: 3,
        JAN[2]: 5,
        JAN[3]: 6,
        JAN[4]: 8,
        JAN[5]: 9,
        JAN[6]: 11,
        JAN[7]: 12,
        JAN[8]: 14,
        JAN[9]: 15,
        JAN[11]: 17,
    }
    # The view: rebuilt days, the observation on its day (equal to the rebuilt total), no jump.
    forks = _daily(store, "forks", "net/work")
    assert [forks[d] for d in JAN[:12]] == [2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 15, 17]
    with store.sessions() as s:
        months = s.execute(
            select(HistoryMonthly.value).where(
                HistoryMonthly.repo_id == repo_id, HistoryMonthly.metric == "forks"
            )
        ).all()
    frame = _at_each_day(store, [repo_id], JAN[:12])
    assert [m.value for m in months] == [17]  # the rollup stays exact
    assert [_plain(v) for v in frame["forks"]] == [forks[d] for d in JAN[:12]]
    assert list(frame["forks_source"])[8:12] == [
        "reconstructed",
        "observed",
        "reconstructed",
        "reconstructed",
    ]


def test_a_later_observation_rescales_the_whole_series(store: Store) -> None:
    repo_id = _ten_direct_forks(store)
    with transaction(store.sessions) as s:
        save_snapshot(s, repo_id, snap(JAN[4], 10, 5, None))  # 5 direct so far, factor 1
        assert rebuild_fork_days(s, repo_id) == ForkScale(5, 5, 1.0)
    assert _cumulative(store, repo_id)[JAN[9]] == 10
    with transaction(store.sessions) as s:
        save_snapshot(s, repo_id, snap(JAN[9], 10, 20, None))
        assert rebuild_fork_days(s, repo_id) == ForkScale(20, 10, 2.0)
    assert _cumulative(store, repo_id) == {JAN[k]: 2 * (k + 1) for k in range(10)}
    with store.sessions() as s:
        total = s.scalar(
            select(func.sum(HistoryMonthly.value)).where(
                HistoryMonthly.repo_id == repo_id, HistoryMonthly.metric == "forks"
            )
        )
    assert total == 20


def test_an_observation_before_any_direct_fork_leaves_the_counts_unscaled(store: Store) -> None:
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(github_id=78, full_name="late/forks"), tracked=True).id
        save_snapshot(s, repo_id, snap(JAN[0], 1, 4, None, hour=6))  # before the first fork (12:00)
        save_forks(s, repo_id, [ForkInfo(1, at(JAN[0])), ForkInfo(2, at(JAN[2]))])
        assert rebuild_fork_days(s, repo_id) == ForkScale(observed=4, direct=0, factor=1.0)
    assert _cumulative(store, repo_id) == {JAN[0]: 1, JAN[2]: 2}


# --- contributors --------------------------------------------------------------------------------------


def _walk_and_observations(store: Store) -> tuple[int, int]:
    """walk/ed: a commit walk and observations that disagree with it; obs/only: observations only."""
    with transaction(store.sessions) as s:
        walked = save_repository(s, Repository(github_id=1, full_name="walk/ed"), tracked=True).id
        firsts = {
            "u:1": at(JAN[0]),
            "u:2": at(JAN[0]),
            "e:a@x": at(JAN[2]),
            "u:3": at(JAN[4]),
            "u:4": at(JAN[4]),
        }
        save_identities(s, walked, firsts)
        rebuild_contributor_days(s, walked)
        save_checkpoint(
            s, walked, "contributors", Checkpoint(SeriesStatus.COMPLETE, None, None, JAN[5], None)
        )
        # GitHub's anon=1 count differs from the walk (emails past the first 500 count once each).
        save_snapshot(s, walked, snap(JAN[2], 10, 1, 7))
        save_snapshot(s, walked, snap(JAN[5], 12, 1, 9))
        only = save_repository(s, Repository(github_id=2, full_name="obs/only"), tracked=True).id
        save_snapshot(s, only, snap(JAN[1], 20, 2, 4))
        save_snapshot(s, only, snap(JAN[4], 25, 3, 6))
    return walked, only


def test_contributors_are_the_walk_wherever_there_is_one(store: Store) -> None:
    _walk_and_observations(store)
    walked = _daily(store, "contributors", "walk/ed")
    # Jan 3 and Jan 6 are observed (7 and 9): the walk still gives the series, without jumps.
    assert [walked[d] for d in JAN[:6]] == [2, 2, 3, 3, 5, 5]
    assert [_daily(store, "stars", "walk/ed")[d] for d in (JAN[2], JAN[5])] == [10, 12]  # stars: observed
    only = _daily(store, "contributors", "obs/only")
    assert [only[d] for d in JAN[1:5]] == [4, 4, 4, 6]  # observations, carried forward
    with store.engine.connect() as conn:
        latest = dict(conn.execute(text("SELECT repo, contributors FROM repo_latest")).all())
        weekly = conn.execute(
            text(
                "SELECT week_start, contributors FROM repo_weekly WHERE repo = 'walk/ed' ORDER BY week_start"
            )
        ).all()
    assert latest == {"walk/ed": 9, "obs/only": 6}  # GitHub's figure, as GitHub shows it
    assert [(str(w.week_start), w.contributors) for w in weekly] == [("2017-01-01", 5)]


def test_reports_give_the_same_contributors_as_the_view(store: Store) -> None:
    walked, only = _walk_and_observations(store)
    view = {
        repo_id: _daily(store, "contributors", name)
        for repo_id, name in ((walked, "walk/ed"), (only, "obs/only"))
    }
    frame = _at_each_day(store, [walked, only], JAN[:6])
    got: dict[int, dict[date, int | None]] = {walked: {}, only: {}}
    sources: dict[int, list[str | None]] = {walked: [], only: []}
    for row in frame.itertuples(index=False):
        got[int(row.repo_id)][row.as_of] = _plain(row.contributors)
        source = row.contributors_source
        sources[int(row.repo_id)].append(source if isinstance(source, str) else None)
    assert got[walked] == view[walked] == dict(zip(JAN[:6], [2, 2, 3, 3, 5, 5], strict=True))
    # The view spans the repository's own days (January 2 to 5); the report carries on to January 6.
    assert got[only] == {JAN[0]: None, **view[only], JAN[5]: 6}
    assert sources[walked] == ["reconstructed"] * 6
    assert sources[only] == [None, "observed", "carried", "carried", "observed", "carried"]
    # A monthly trend and the ranking agree.
    with store.sessions() as s:
        month = load_period_values(s, [walked, only], "month", JAN[0], JAN[5])
        ranking = make_report(
            s,
            ReportRequest(at=JAN[2], repos=(parse_repo_name("walk/ed"), parse_repo_name("obs/only"))),
            Config(),
        )
    assert [_plain(v) for v in month["contributors"]] == [5, 6]
    assert list(month["contributors_source"]) == ["reconstructed", "carried"]
    assert isinstance(ranking, Ranking)
    table = {r.repo: r for r in ranking.table.itertuples(index=False)}
    assert (_plain(table["walk/ed"].contributors), table["walk/ed"].contributors_source) == (
        3,
        "reconstructed",
    )
    assert (_plain(table["walk/ed"].stars), table["walk/ed"].stars_source) == (10, "observed")
    assert (_plain(table["obs/only"].contributors), table["obs/only"].contributors_source) == (4, "carried")


# --- status --------------------------------------------------------------------------------------------


def test_status_counts_what_each_number_counts(store: Store) -> None:
    walked, _ = _walk_and_observations(store)
    with transaction(store.sessions) as s:
        save_forks(s, walked, [ForkInfo(5, at(JAN[0])), ForkInfo(6, at(JAN[1]))])
        save_checkpoint(s, walked, "forks", Checkpoint(SeriesStatus.COMPLETE, None, None, JAN[5], None))
        rebuild_fork_days(s, walked)
    with store.sessions() as s:
        status = {r.full_name: r for r in load_repo_status(s)}
    ed, only = status["walk/ed"], status["obs/only"]
    assert (ed.observed_forks, ed.direct_forks) == (1, 2)
    assert (ed.observed_contributors, ed.walked_contributors) == (9, 5)
    assert (only.observed_forks, only.direct_forks, only.walked_contributors) == (3, None, None)


def test_series_states_stored_before_they_were_typed_read_back_the_same(store: Store) -> None:
    walk = {"newest": at(JAN[4]), "since": at(JAN[3]), "walk_newest": at(JAN[6])}
    detail = json.dumps({k: v.isoformat() for k, v in walk.items()})
    with transaction(store.sessions) as s:
        repo = save_repository(s, Repository(github_id=3, full_name="old/rows"), tracked=True).id
        for series, status, text_ in (
            ("contributors", "partial", detail),
            ("stars", "unavailable", "no API"),
        ):
            s.add(
                SeriesState(repo_id=repo, series=series, status=status, detail=text_, updated_at=at(JAN[6]))
            )
    with store.sessions() as s:
        cp = load_checkpoint(s, repo, "contributors")
        status = {r.full_name: r for r in load_repo_status(s)}["old/rows"]
    assert cp is not None and cp.status is SeriesStatus.PARTIAL
    progress = ContributorsProgress.from_json(cp.detail)
    assert (progress, progress.to_json()) == (ContributorsProgress(**walk), detail)
    assert progress.done() == ContributorsProgress(newest=at(JAN[6]))
    assert progress.done().next_walk().since == at(JAN[5])
    assert (
        ContributorsProgress.from_json(None) == ContributorsProgress.from_json("{}") == ContributorsProgress()
    )
    assert ContributorsProgress().done().to_json() == '{"newest": null}'  # an empty repository's walk
    assert status.series == {"contributors": f"partial ({detail})", "stars": "unavailable (no API)"}
    assert (status.walked_contributors, status.direct_forks) == (0, None)


def test_status_cells_say_what_each_number_counts() -> None:
    assert render_versus(75_012, 72_100, "direct") == "75,012 / 72,100 direct"
    assert render_versus(568, 571, "walked") == "568 / 571 walked"
    assert render_versus(None, 40, "walked") == "- / 40 walked"  # GitHub refuses to count them
    assert render_versus(12, None, "direct") == "12 / -"  # not listed yet
    assert render_versus(None, None, "direct") == "-"
    assert render_gap(41_628, 41_616) == "41,628 / -12"
    assert render_gap(41_628, 41_628) == "41,628 / 0"
    assert render_gap(41_628, None) == "41,628 / -"
