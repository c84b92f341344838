"""The simulator's built-in scenarios: real dated history for the 2017 frameworks, and consistent events.

Every count here is recomputed from the raw events (star days, forks, commits), the way a user of the
simulator would check them, never from the generator's internals.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import pytest

from collector.testing import scenarios
from collector.testing.model import Scenario, SimRepo
from collector.testing.scenarios import (
    SCENARIOS,
    edge_scenario,
    frameworks_scenario,
    load_scenario,
    synthetic_scenario,
)

TODAY = date(2026, 11, 27)
TABLE_DAY = date(2017, 1, 3)

# Table 2-1 of the 2017 book, as of 2017-01-03 (repository names as cited then).
TABLE_2_1 = [
    ("tensorflow/tensorflow", 41628, 19339, 568),
    ("BVLC/caffe", 14956, 9282, 221),
    ("fchollet/keras", 10727, 3575, 322),
    ("Microsoft/CNTK", 9063, 2144, 100),
    ("dmlc/mxnet", 7393, 2745, 241),
    ("torch/torch7", 6111, 1784, 113),
    ("Theano/Theano", 5352, 1868, 271),
    ("deeplearning4j/deeplearning4j", 5053, 1927, 101),
    ("autumnai/leaf", 4562, 216, 14),
    ("Lasagne/Lasagne", 2749, 761, 55),
    ("NervanaSystems/neon", 2633, 573, 52),
]

# Later dated star counts (../shared/history/table_2_1_and_dated_points.csv, EvanLi, best-of-ml-python)
# and the tolerance we promise. The "2018-06" column of the insightai table is 2-4% above the weekly
# README lists (mbadry1) for the same weeks; the curve follows the lists, hence 4% there.
DATED_STARS = [
    ("tensorflow/tensorflow", date(2017, 12, 26), 83495, 0.02),
    ("microsoft/CNTK", date(2017, 12, 26), 13451, 0.02),
    ("apache/mxnet", date(2017, 12, 26), 12531, 0.02),
    ("tensorflow/tensorflow", date(2018, 4, 12), 95925, 0.02),
    ("tensorflow/tensorflow", date(2022, 7, 1), 166096, 0.01),
    ("tensorflow/tensorflow", date(2026, 3, 1), 193946, 0.01),
    ("keras-team/keras", date(2026, 8, 22), 64244, 0.01),
    ("BVLC/caffe", date(2026, 8, 22), 34560, 0.01),
    ("apache/mxnet", date(2026, 8, 22), 20809, 0.01),
]
MONTH_STARS = [  # insightai, month only: some day of that month is within the tolerance
    ("2017-07", {"tensorflow/tensorflow": 62199, "keras-team/keras": 17086, "microsoft/CNTK": 11593,
                 "apache/mxnet": 10217, "torch/torch7": 7038, "deeplearning4j/deeplearning4j": 6850,
                 "NervanaSystems/neon": 3093}, 0.02),
    ("2018-06", {"tensorflow/tensorflow": 103087, "keras-team/keras": 30726, "microsoft/CNTK": 14633,
                 "apache/mxnet": 14218, "torch/torch7": 7739, "deeplearning4j/deeplearning4j": 9149,
                 "NervanaSystems/neon": 3569}, 0.04),
    ("2020-03", {"tensorflow/tensorflow": 141493, "keras-team/keras": 47017, "microsoft/CNTK": 16694,
                 "apache/mxnet": 18423, "torch/torch7": 8476, "deeplearning4j/deeplearning4j": 11511,
                 "NervanaSystems/neon": 3828}, 0.02),
]  # fmt: skip
# Contributors from the ~2018-03 book table (dated by TensorFlow's stars) and best-of-ml-python.
DATED_CONTRIBUTORS = [
    ("tensorflow/tensorflow", date(2023, 6, 15), 4371, 0.02),
    ("keras-team/keras", date(2025, 6, 26), 1418, 0.02),
    ("Theano/Theano", date(2023, 6, 15), 386, 0.02),
    ("chainer/chainer", date(2023, 6, 15), 328, 0.03),
]


def end_of(day: date) -> datetime:
    return datetime.combine(day, dtime.max, UTC)


def find(scenario: Scenario, name: str) -> SimRepo:
    """A repository by its current or any former name, case-insensitively, as GitHub resolves them."""
    for repo in scenario.repos:
        if name.lower() in {repo.full_name.lower(), *(n.lower() for n in repo.former_names)}:
            return repo
    raise AssertionError(f"{name} is not in scenario {scenario.name}")


def stars_at(repo: SimRepo, day: date) -> int:
    return sum(n for d, n in repo.star_days.items() if d <= day)


def forks_at(repo: SimRepo, day: date) -> int:
    return sum(1 for fork in repo.forks if fork.created_at <= end_of(day))


def contributors_at(repo: SimRepo, day: date) -> int:
    identities = {
        commit.author_user_id if commit.author_user_id is not None else commit.author_email.lower()
        for commit in repo.commits
        if commit.authored_at <= end_of(day)
    }
    return len(identities)


@pytest.fixture(scope="module")
def frameworks() -> Scenario:
    return frameworks_scenario(TODAY)


@pytest.mark.parametrize(("cited", "stars", "forks", "contributors"), TABLE_2_1)
def test_table_2_1_is_exact_on_2017_01_03(
    frameworks: Scenario, cited: str, stars: int, forks: int, contributors: int
) -> None:
    repo = find(frameworks, cited)
    assert (stars_at(repo, TABLE_DAY), forks_at(repo, TABLE_DAY), contributors_at(repo, TABLE_DAY)) == (
        stars,
        forks,
        contributors,
    )


@pytest.mark.parametrize(("name", "day", "stars", "tolerance"), DATED_STARS)
def test_later_star_counts_follow_the_dated_data(
    frameworks: Scenario, name: str, day: date, stars: int, tolerance: float
) -> None:
    assert stars_at(find(frameworks, name), day) == pytest.approx(stars, rel=tolerance)


@pytest.mark.parametrize(("month", "points", "tolerance"), MONTH_STARS)
def test_month_only_star_counts_are_met_within_that_month(
    frameworks: Scenario, month: str, points: dict[str, int], tolerance: float
) -> None:
    first = date.fromisoformat(month + "-01")
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    for name, stars in points.items():
        lo, hi = stars_at(find(frameworks, name), first), stars_at(find(frameworks, name), last)
        assert lo * (1 - tolerance) <= stars <= hi * (1 + tolerance), (name, lo, hi, stars)


@pytest.mark.parametrize(("name", "day", "count", "tolerance"), DATED_CONTRIBUTORS)
def test_later_contributor_counts_follow_the_dated_data(
    frameworks: Scenario, name: str, day: date, count: int, tolerance: float
) -> None:
    assert contributors_at(find(frameworks, name), day) == pytest.approx(count, rel=tolerance)


def test_frameworks_have_their_real_names_renames_and_flags(frameworks: Scenario) -> None:
    names = {repo.full_name: repo for repo in frameworks.repos}
    assert len(names) == 14
    assert names["keras-team/keras"].former_names == ["fchollet/keras"]
    assert names["apache/mxnet"].former_names == ["dmlc/mxnet", "apache/incubator-mxnet"]
    assert names["chainer/chainer"].former_names == ["pfnet/chainer"]
    assert names["amazon-archives/amazon-dsstne"].former_names[0] == "amznlabs/amazon-dsstne"
    assert names["tensorflow/tensorflow"].github_id == 45717250
    assert names["apache/mxnet"].github_id == 34864402
    archived = {repo.full_name for repo in frameworks.repos if repo.archived}
    assert {"apache/mxnet", "microsoft/CNTK", "chainer/chainer", "torch/torch7"} <= archived
    assert not {"tensorflow/tensorflow", "keras-team/keras"} & archived
    assert find(frameworks, "Microsoft/CNTK").full_name == "microsoft/CNTK"


def test_archived_repositories_stop_and_flatten(frameworks: Scenario) -> None:
    later = frameworks_scenario(date(2028, 1, 1))
    mxnet, mxnet_later = find(frameworks, "apache/mxnet"), find(later, "apache/mxnet")
    assert mxnet_later.stars == mxnet.stars and len(mxnet_later.forks) == len(mxnet.forks)
    assert max(c.authored_at for c in mxnet_later.commits).date() <= date(2023, 10, 25)
    assert find(later, "tensorflow/tensorflow").stars > find(frameworks, "tensorflow/tensorflow").stars


def test_commit_volume_is_scaled_but_covers_every_contributor(frameworks: Scenario) -> None:
    total = sum(len(repo.commits) for repo in frameworks.repos)
    assert 20_000 <= total <= 40_000
    identities = linked = 0
    two_emails = 0
    for repo in frameworks.repos:
        emails_by_user: dict[int, set[str]] = {}
        anonymous: set[str] = set()
        for commit in repo.commits:
            if commit.author_user_id is None:
                anonymous.add(commit.author_email.lower())
            else:
                emails_by_user.setdefault(commit.author_user_id, set()).add(commit.author_email)
        identities += len(emails_by_user) + len(anonymous)
        linked += len(emails_by_user)
        two_emails += sum(1 for emails in emails_by_user.values() if len(emails) > 1)
    assert 0.70 <= linked / identities <= 0.85
    assert two_emails > 10


def check_invariants(scenario: Scenario) -> None:
    """What every scenario promises the simulator: sorted, unique, nothing before creation or after today."""
    today_end = end_of(scenario.today)
    repo_ids = [repo.github_id for repo in scenario.repos]
    fork_ids = [fork.github_id for repo in scenario.repos for fork in repo.forks]
    assert len(set(repo_ids + fork_ids)) == len(repo_ids) + len(fork_ids)
    assert len({repo.full_name.lower() for repo in scenario.repos}) == len(scenario.repos)
    for repo in scenario.repos:
        created = repo.created_at
        assert created.tzinfo is not None and created <= today_end
        days = list(repo.star_days)
        assert days == sorted(days)
        assert all(created.date() <= d <= scenario.today for d in days), repo.full_name
        assert all(n > 0 for n in repo.star_days.values())
        fork_times = [fork.created_at for fork in repo.forks]
        assert fork_times == sorted(fork_times)
        assert all(created <= t <= today_end for t in fork_times), repo.full_name
        assert len({fork.owner_login for fork in repo.forks}) == len(repo.forks)
        commit_times = [commit.authored_at for commit in repo.commits]
        assert commit_times == sorted(commit_times)
        assert all(created <= t <= today_end for t in commit_times), repo.full_name
        shas = [commit.sha for commit in repo.commits]
        assert len(set(shas)) == len(shas)
        assert all(re.fullmatch(r"[0-9a-f]{40}", sha) for sha in shas)
        assert all((c.author_user_id is None) == (c.author_login is None) for c in repo.commits)


@pytest.mark.parametrize("name", ["frameworks", "edge", "synthetic-200"])
def test_every_scenario_keeps_the_invariants(name: str) -> None:
    check_invariants(load_scenario(name, TODAY))


def test_a_past_today_cuts_history_and_leaves_out_younger_repositories() -> None:
    past = frameworks_scenario(date(2016, 1, 1))
    check_invariants(past)
    assert "amazon-archives/amazon-dsstne" not in {repo.full_name for repo in past.repos}
    at_table = frameworks_scenario(TABLE_DAY)
    tf = find(at_table, "tensorflow/tensorflow")
    assert (tf.stars, len(tf.forks), contributors_at(tf, TABLE_DAY)) == (41628, 19339, 568)


def test_same_inputs_give_the_same_scenario_and_the_seed_changes_only_the_jitter() -> None:
    scenarios._frameworks_cached.cache_clear()
    first = frameworks_scenario(TODAY)
    scenarios._frameworks_cached.cache_clear()
    started = time.perf_counter()
    second = frameworks_scenario(TODAY)
    elapsed = time.perf_counter() - started
    assert first is not second and first == second
    assert elapsed < 6.0  # about 1 s here; the budget is 3 s, with room for a slow CI machine
    other = frameworks_scenario(TODAY, seed=7)
    tf, tf7 = find(first, "tensorflow/tensorflow"), find(other, "tensorflow/tensorflow")
    assert tf.commits != tf7.commits
    assert stars_at(tf7, TABLE_DAY) == 41628 and contributors_at(tf7, TABLE_DAY) == 568
    assert synthetic_scenario(30, TODAY, seed=3) == scenarios._synthetic_cached.__wrapped__(30, TODAY, 3)


def test_the_default_today_is_the_current_utc_date() -> None:
    assert frameworks_scenario().today == datetime.now(UTC).date()


def test_synthetic_1000_builds_fast_and_looks_like_github() -> None:
    started = time.perf_counter()
    world = scenarios._synthetic_cached.__wrapped__(1000, TODAY, 1)
    assert time.perf_counter() - started < 8.0  # about 1.5 s here
    check_invariants(world)
    assert len(world.repos) == 1000
    assert all(re.fullmatch(r"synth-org-\d{3}/repo-\d{5}", repo.full_name) for repo in world.repos)
    stars = sorted(repo.stars for repo in world.repos)
    assert stars[500] < 500 and 2 <= sum(s >= 20_000 for s in stars) <= 15
    assert 10 <= sum(repo.archived for repo in world.repos) <= 60
    assert 20 <= sum(bool(repo.former_names) for repo in world.repos) <= 90
    assert all(contributors_at(repo, TODAY) >= 1 for repo in world.repos)


def test_edge_scenario_has_each_awkward_case() -> None:
    edge = {repo.name: repo for repo in edge_scenario(TODAY).repos}
    assert edge["deleted-repo"].status == "deleted"
    assert edge["dmca-blocked"].status == "blocked"
    assert edge["huge-history"].contributors_too_large and contributors_at(edge["huge-history"], TODAY) == 60
    empty = edge["empty-repo"]
    assert (empty.commits, empty.stars, empty.forks) == ([], 0, [])
    assert len(edge["renamed-twice"].former_names) == 2
    description = edge["html-description"].description or ""
    assert "<script>" in description and "<b>" in description


def test_load_scenario_knows_the_registry_and_refuses_unknown_names() -> None:
    assert set(SCENARIOS) == {"frameworks", "synthetic-1000", "edge"}
    assert len(load_scenario("synthetic-50", TODAY).repos) == 50
    assert load_scenario("edge", TODAY).name == "edge"
    with pytest.raises(ValueError, match="frameworks.*edge.*synthetic-N"):
        load_scenario("nope", TODAY)
