"""Derive the simulator's compact anchor table for the 2017 frameworks from ../shared/history/.

Run from the repository root: `python scripts/build_framework_anchors.py`. It writes
collector/testing/data/frameworks_anchors.csv (repo, date, stars, forks, contributors, source): a few
hundred dated points per metric that `collector.testing.scenarios` interpolates at run time, so the package
never reads ../shared. Sources and licences are listed in collector/testing/data/NOTICE.md.

Rules, in order:
- names are mapped to the repository's current name (renames and case changes);
- dense sources are thinned to the first point of each month plus their last point, and a dense source
  is dropped where a better one covers the same dates (EvanLi daily API data beats the README lists);
- Table 2-1 (2017-01-03) is exact; any other point that contradicts it (higher before, lower after) is
  dropped; then every series is made non-decreasing (a running maximum; a drop of more than 3% that
  recovers within six points is a glitch and skipped, one that persists is a counting change and the
  later points are shifted up by it), because the simulator's cumulative counts
  are sums of non-negative daily additions;
- month-only points (insightai, "2018-06") are kept on the 15th only where no dense source is within
  20 days; the undated ~2018-03 book table is dated by where TensorFlow's stars reach its value.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT.parent / "shared" / "history"
OUT = ROOT / "collector" / "testing" / "data" / "frameworks_anchors.csv"

CURRENT = {
    "tensorflow/tensorflow": "tensorflow/tensorflow",
    "bvlc/caffe": "BVLC/caffe",
    "keras-team/keras": "keras-team/keras",
    "fchollet/keras": "keras-team/keras",
    "microsoft/cntk": "microsoft/CNTK",
    "apache/mxnet": "apache/mxnet",
    "apache/incubator-mxnet": "apache/mxnet",
    "dmlc/mxnet": "apache/mxnet",
    "torch/torch7": "torch/torch7",
    "theano/theano": "Theano/Theano",
    "deeplearning4j/deeplearning4j": "deeplearning4j/deeplearning4j",
    "eclipse/deeplearning4j": "deeplearning4j/deeplearning4j",
    "autumnai/leaf": "autumnai/leaf",
    "lasagne/lasagne": "Lasagne/Lasagne",
    "nervanasystems/neon": "NervanaSystems/neon",
    "chainer/chainer": "chainer/chainer",
    "pfnet/chainer": "chainer/chainer",
    "nvidia/digits": "NVIDIA/DIGITS",
    "amazon-archives/amazon-dsstne": "amazon-archives/amazon-dsstne",
    "amzn/amazon-dsstne": "amazon-archives/amazon-dsstne",
    "amznlabs/amazon-dsstne": "amazon-archives/amazon-dsstne",
}
# The insightai table names frameworks, not repositories.
FRAMEWORK = {
    "TensorFlow": "tensorflow/tensorflow",
    "Keras": "keras-team/keras",
    "CNTK": "microsoft/CNTK",
    "MXNet": "apache/mxnet",
    "Torch": "torch/torch7",
    "DL4J": "deeplearning4j/deeplearning4j",
    "Neon": "NervanaSystems/neon",
    "Caffe": "BVLC/caffe",
}
METRICS = ("stars", "forks", "contributors")
# Higher wins where dense sources overlap.
DENSE_RANK = {"evanli": 4, "bestof": 3, "mbadry1": 2, "hunkim": 1, "toplists": 0}

Point = tuple[date, int]

# Our estimates where the data has no value (contributors of repositories no source tracks later, and
# the three frameworks Table 2-1 leaves out). Marked "estimate" in the output.
ESTIMATES: list[tuple[str, str, str, int]] = [
    ("BVLC/caffe", "2024-07-31", "contributors", 278),
    ("deeplearning4j/deeplearning4j", "2024-04-04", "contributors", 250),
    ("torch/torch7", "2022-10-26", "contributors", 135),
    ("autumnai/leaf", "2018-01-14", "contributors", 16),
    ("NVIDIA/DIGITS", "2017-01-03", "contributors", 48),
    ("NVIDIA/DIGITS", "2023-05-26", "contributors", 65),
    ("amazon-archives/amazon-dsstne", "2017-01-03", "contributors", 24),
    ("amazon-archives/amazon-dsstne", "2020-02-14", "contributors", 33),
    ("chainer/chainer", "2017-01-03", "contributors", 150),
]


def _utc_date(stamp: str) -> date:
    value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (value - (value.utcoffset() or timedelta())).date()


def _num(text: str) -> int | None:
    return int(float(text)) if text.strip() else None


def _rows(name: str) -> list[dict[str, str]]:
    with (HISTORY / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_dense() -> dict[tuple[str, str, str], dict[date, int]]:
    """(repo, metric, source) -> {day: value}, the first value seen per day."""
    series: dict[tuple[str, str, str], dict[date, int]] = defaultdict(dict)

    def put(name: str, metric: str, source: str, day: date, value: int | None) -> None:
        repo = CURRENT.get(name.lower())
        if repo is not None and value is not None:
            series[(repo, metric, source)].setdefault(day, value)

    for row in _rows("evanli_github_ranking_dl_frameworks.csv"):
        day = date.fromisoformat(row["date"])
        put(row["repo_full_name"], "stars", "evanli", day, _num(row["stars"]))
        put(row["repo_full_name"], "forks", "evanli", day, _num(row["forks"]))
    for row in _rows("bestof_ml_python_history_dl_frameworks.csv"):
        day = date.fromisoformat(row["date"])
        for metric, column in (("stars", "star_count"), ("forks", "fork_count")):
            put(row["github_id"], metric, "bestof", day, _num(row[column]))
        put(row["github_id"], "contributors", "bestof", day, _num(row["contributor_count"]))
    for row in _rows("mbadry1_top_deep_learning_lists.csv"):
        day = _utc_date(row["commit_date"])
        put(row["repo_full_name"], "stars", "mbadry1", day, _num(row["stars"]))
        put(row["repo_full_name"], "forks", "mbadry1", day, _num(row["forks"]))
    for row in _rows("hunkim_DeepLearningStars_readme_history.csv"):
        put(row["repo_full_name"], "stars", "hunkim", _utc_date(row["commit_date"]), _num(row["stars"]))
    # README lists repeat stale numbers across commits: keep only the day a value first appears.
    seen: dict[str, int] = {}
    for row in sorted(_rows("toplists_readme_history_stars.csv"), key=lambda r: _utc_date(r["commit_date"])):
        value = _num(row["stars"])
        if value is None or seen.get(row["repo_full_name"]) == value:
            continue
        seen[row["repo_full_name"]] = value
        put(row["repo_full_name"], "stars", "toplists", _utc_date(row["commit_date"]), value)
    return series


def thin(points: dict[date, int]) -> dict[date, int]:
    """The first point of each month, plus the last one."""
    kept: dict[tuple[int, int], tuple[date, int]] = {}
    for day in sorted(points):
        kept.setdefault((day.year, day.month), (day, points[day]))
    out = dict(kept.values())
    last = max(points)
    out[last] = points[last]
    return out


def interpolate(points: list[Point], day: date) -> float | None:
    """Linear interpolation inside the points' range, else None."""
    for (d0, v0), (d1, v1) in zip(points, points[1:], strict=False):
        if d0 <= day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / max(1, (d1 - d0).days)
    return None


def day_reaching(points: list[Point], value: int) -> date:
    """The first day on which the interpolated series reaches value."""
    for (d0, v0), (d1, v1) in zip(points, points[1:], strict=False):
        if v0 <= value <= v1:
            return d0 + timedelta(days=round((value - v0) * (d1 - d0).days / max(1, v1 - v0)))
    raise ValueError(f"{value} is outside the series")


def build() -> list[tuple[str, date, str, int, str]]:
    """Every kept anchor as (repo, day, metric, value, source)."""
    dense = load_dense()
    merged: dict[tuple[str, str], dict[date, tuple[int, str]]] = defaultdict(dict)
    by_metric: dict[tuple[str, str], list[tuple[str, dict[date, int]]]] = defaultdict(list)
    for (repo, metric, source), points in dense.items():
        by_metric[(repo, metric)].append((source, points))
    for key, sources in by_metric.items():
        sources.sort(key=lambda item: -DENSE_RANK[item[0]])
        covered: list[tuple[date, date]] = []
        for source, points in sources:
            for day, value in thin(points).items():
                if not any(lo <= day <= hi for lo, hi in covered):
                    merged[key][day] = (value, source)
            covered.append((min(points), max(points)))

    exact: dict[tuple[str, str], date] = {}
    undated: list[dict[str, str]] = []
    for row in _rows("table_2_1_and_dated_points.csv"):
        repo = CURRENT.get(row["repo_as_cited"].lower()) or FRAMEWORK.get(row["framework"])
        if repo is None:
            continue
        stamp = row["date"]
        if stamp.startswith("undated"):
            undated.append(row)
            continue
        source = row["source"].split(",")[0][:40] if row["source"] != "same" else "dated point"
        if len(stamp) == 7:  # month only: the 15th, unless a dense point is near
            day = date.fromisoformat(stamp + "-15")
            near = any(abs((d - day).days) <= 20 for d in merged[(repo, "stars")])
            if not near:
                merged[(repo, "stars")][day] = (int(row["stars"]), f"insightai {stamp}")
            continue
        day = date.fromisoformat(stamp)
        for metric in METRICS:
            if row[metric]:
                merged[(repo, metric)][day] = (
                    int(row[metric]),
                    "table-2-1" if day.year == 2017 and day.month == 1 else source,
                )
                if day == date(2017, 1, 3):
                    exact[(repo, metric)] = day

    # The undated book table (~2018-03): date it by TensorFlow's stars, then take its numbers.
    tf = sorted((d, v) for d, (v, _) in merged[("tensorflow/tensorflow", "stars")].items())
    book_day = day_reaching(tf, next(int(r["stars"]) for r in undated if r["framework"] == "TensorFlow"))
    for row in undated:
        repo = CURRENT[row["repo_as_cited"].lower()]
        for metric in ("stars", "contributors"):
            if row[metric]:
                merged[(repo, metric)].setdefault(book_day, (int(row[metric]), "book ~2018-03"))

    for repo, stamp, metric, value in ESTIMATES:
        merged[(repo, metric)].setdefault(date.fromisoformat(stamp), (value, "estimate"))

    out: list[tuple[str, date, str, int, str]] = []
    for (repo, metric), points in sorted(merged.items()):
        items = sorted(points.items())
        hard = exact.get((repo, metric))
        if hard is not None:
            pivot = points[hard][0]
            items = [
                (d, p)
                for d, p in items
                if d == hard or (d < hard and p[0] <= pivot) or (d > hard and p[0] >= pivot)
            ]
        top = shift = 0
        for index, (day, (value, source)) in enumerate(items):
            if value + shift < 0.97 * top and any(
                v + shift >= 0.97 * top for _, (v, _) in items[index + 1 : index + 7]
            ):
                continue  # a glitch the next months recover from (best-of-ml-python has a few)
            if value + shift < 0.97 * top:
                # A sudden drop is a change in how GitHub counts (TensorFlow lost 15,000 forks overnight
                # in 2024), not a trend: keep the growth that follows, on top of the old level.
                print(f"level shift: {repo} {metric} {day} {value + shift} -> {top}")
                shift = top - value
            top = max(top, value + shift)
            out.append((repo, day, metric, top, source))
    return out


def main() -> None:
    rows = build()
    table: dict[tuple[str, date], dict[str, str]] = defaultdict(dict)
    for repo, day, metric, value, source in rows:
        cell = table[(repo, day)]
        cell[metric] = str(value)
        cell.setdefault("source", source)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["repo", "date", "stars", "forks", "contributors", "source"])
        for (repo, day), cell in sorted(table.items()):
            writer.writerow([repo, day.isoformat(), *(cell.get(m, "") for m in METRICS), cell["source"]])
    print(f"wrote {len(table)} rows to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
