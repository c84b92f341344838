"""`collector status` in a 100-column terminal (issue 13): every line fits, no cell shows a JSON fragment,
long names fold and long messages wrap (cut at NOTE_CHARS); `--format json` keeps the facts for scripts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from collector.cli.status import NOTE_CHARS, render_detail, render_status, shorten, split_series
from collector.domain import BudgetRecord, HistoryPoint, Repository, Snapshot
from collector.jobs.commit_history import ContributorsProgress
from collector.jobs.star_history import StarsProgress, Walk
from collector.store import migrate
from collector.store.checkpoints import Checkpoint, SeriesStatus, save_checkpoint
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.history import save_history_daily, save_snapshot
from collector.store.http_cache import save_token_budgets
from collector.store.repos import mark_gone, save_repository
from collector.store.runs import BudgetStatus, RepoStatus, save_run_item, start_run
from tests.conftest import run_cli

NOW = datetime.now(UTC).replace(microsecond=0)
FRAMEWORKS = [
    "amazon-archives/amazon-dsstne",
    "apache/mxnet",
    "autumnai/leaf",
    "BVLC/caffe",
    "chainer/chainer",
    "deeplearning4j/deeplearning4j",
    "keras-team/keras",
    "Lasagne/Lasagne",
    "microsoft/CNTK",
    "NervanaSystems/neon",
    "NVIDIA/DIGITS",
    "tensorflow/tensorflow",
    "Theano/Theano",
    "torch/torch7",
]
# As long as GitHub allows: a 39-character owner and a 100-character name.
LONG_NAME = "an-organisation-whose-name-is-39-chars/" + "-".join(["a-repository-name"] * 6)[:100]
# What a failed backfill stores: several lines, a URL, the exception's own text; far past NOTE_CHARS.
LONG_ERROR = (
    "contributors: POST https://api.github.com/graphql: unexpected commit history for "
    "deeplearning4j/deeplearning4j (CommitInfo.__init__() missing 2 required positional arguments: "
    "'committed_at' and 'parents')\nwhile walking page 412 of the history after 3 tries; "
    + "the server answered with a body cut short, "
    * 8
)
GONE = (
    "not_found: GitHub says 404 Not Found for GET /repos/amazon-archives/amazon-dsstne: the repository "
    "was deleted, or the token cannot see it"
)
UNAVAILABLE = (
    "star history unavailable: this server has no /stargazers/history endpoint and the token may not list "
    "stargazers (403)"
)


def cells(text: str, column: int) -> list[str]:
    """The stripped cells of one column of every table row, top to bottom (continuation lines included)."""
    return [line.split("│")[column + 1].strip() for line in text.splitlines() if line.startswith("│")]


def assert_reads_in_100_columns(text: str) -> None:
    lines = text.splitlines()
    assert lines and all(len(line) <= 100 for line in lines), max(lines, key=len)
    assert "{" not in text and "[" not in text, text  # no dict, list or JSON fragment anywhere


# --- pure -------------------------------------------------------------------------------------------------


def test_details_in_words() -> None:
    assert render_detail(None) == "" and render_detail("") == ""
    assert render_detail('{"irregular_weeks": 3}') == "irregular weeks 3"
    assert render_detail('{"newest": "2026-11-28T06:33:07+00:00"}') == "newest 2026-11-28"
    stars = '{"walk": "revalidate", "newest": "2026-11-28", "oldest": "2019-03-04", "stored_from": null, '
    stars += '"stored_to": null, "irregular": 0}'
    assert render_detail(stars) == "walk revalidate, newest 2026-11-28, oldest 2019-03-04"
    assert render_detail('["a", 1200, {"x": 1}]') == "a, 1,200"
    assert render_detail("from stargazers") == "from stargazers"
    assert render_detail("not {json") == "not {json"  # text stays text
    assert split_series('complete ({"newest": null})') == ("complete", '{"newest": null}')
    assert split_series("unavailable (why (403))") == ("unavailable", "why (403)")
    assert split_series("partial") == ("partial", None)
    assert shorten("a\n  b\tc") == "a b c"
    cut = shorten("word " * 100)
    assert len(cut) == NOTE_CHARS and cut.endswith("…")


def _literal(name: str, **fields: object) -> RepoStatus:
    values: dict[str, object] = {
        "full_name": name,
        "last_success": NOW,
        "last_error": None,
        "last_error_message": None,
        "observed_at": NOW,
        "observed_stars": 41_628,
        "observed_forks": 75_012,
        "observed_contributors": 1_589,
        "history_from": date(2015, 3, 22),
        "history_to": NOW.date(),
        "reconstructed_stars": 41_616,
        "direct_forks": 72_100,
        "walked_contributors": 1_577,
        "series": {"stars": "complete", "contributors": 'complete ({"newest": "2026-11-27T10:00:00+00:00"})'},
        "gone_reason": None,
    }
    values.update(fields)
    return RepoStatus(**values)  # type: ignore[arg-type]


def test_markup_in_a_message_is_printed_as_it_is() -> None:
    rows = [_literal("o/a", last_error=NOW, last_error_message="collect: GitHub said [/bold] and [red]x")]
    text = render_status(rows, [BudgetStatus(1, "core", 5000, 4032, NOW)])
    assert "GitHub said [/bold] and [red]x" in " ".join(cells(text, 1))


def test_literal_rows_fit_100_columns_and_fold_a_long_name() -> None:
    rows = [_literal(n) for n in FRAMEWORKS] + [_literal(LONG_NAME, gone_reason=GONE)]
    budgets = [BudgetStatus(1, "core", 5000, 4032, NOW), BudgetStatus(3, "core", 15000, 14876, NOW, 5550001)]
    text = render_status(rows, budgets)
    assert_reads_in_100_columns(text)
    assert LONG_NAME in "".join(cells(text, 0))  # folded over lines, nothing cut
    for name in FRAMEWORKS:  # names that fit stay on one line, in every table
        assert sum(name == cell for cell in cells(text, 0)) == 3, name
    assert "41,628 / -12" in text and "75,012 / 72,100 direct" in text and "1,589 / 1,577 walked" in text
    assert "newest 2026-11-27" in text
    assert "installation 5550001" in text and "14,876" in text


# --- the command, on a store ------------------------------------------------------------------------------


def _seed(url: str) -> None:
    """The 14 frameworks and a long name, with what a store holds after some runs went wrong."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    contributors = ContributorsProgress(newest=NOW - timedelta(days=2)).to_json()
    partial_stars = StarsProgress(Walk.REVALIDATE, NOW.date(), date(2019, 3, 4)).to_json()
    irregular = StarsProgress(irregular=3).summary_json()
    with transaction(session_factory(engine)) as s:
        run = start_run(s, "backfill")
        for i, name in enumerate([*FRAMEWORKS, LONG_NAME]):
            row = save_repository(s, Repository(github_id=1000 + i, full_name=name), tracked=True)
            stars = 1_000 * (i + 3)
            save_snapshot(s, row.id, Snapshot(NOW, stars, stars // 4, stars, 10, contributors=30 + i))
            save_history_daily(
                s, row.id, [HistoryPoint("stars", date(2015, 1, 1) + timedelta(i), stars, "x")]
            )
            done = Checkpoint(SeriesStatus.COMPLETE, None, None, NOW.date(), None)
            for series in ("forks", "commits"):
                save_checkpoint(s, row.id, series, done)
            save_checkpoint(s, row.id, "contributors", replace(done, detail=contributors))
            stars_cp = {
                "tensorflow/tensorflow": Checkpoint(
                    SeriesStatus.PARTIAL, "cursor", None, None, partial_stars
                ),
                "NVIDIA/DIGITS": Checkpoint(SeriesStatus.UNAVAILABLE, None, None, None, UNAVAILABLE),
                "Theano/Theano": replace(done, detail=irregular),
            }.get(name, done)
            save_checkpoint(s, row.id, "stars", stars_cp)
            if name in ("deeplearning4j/deeplearning4j", LONG_NAME):
                save_run_item(s, run, row.id, "backfill", "error", "github", LONG_ERROR)
            if name == "amazon-archives/amazon-dsstne":
                mark_gone(s, row.id, GONE)
        save_token_budgets(
            s,
            [
                BudgetRecord("k1", 1, "core", 5000, 4032, NOW + timedelta(minutes=40)),
                BudgetRecord("k1", 1, "graphql", 5000, 4735, NOW + timedelta(minutes=41)),
                BudgetRecord("k2", 2, "core", 5000, 0, NOW + timedelta(minutes=12)),
                BudgetRecord("installation:5550001", 3, "core", 15000, 14876, NOW + timedelta(minutes=55)),
            ],
        )
    engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    cwd = tmp_path_factory.mktemp("status")
    url = f"sqlite:///{cwd / 'collector.db'}"
    _seed(url)
    return cwd, {"COLLECTOR_DATABASE_URL": url, "COLUMNS": "100"}


def test_status_reads_well_in_100_columns(seeded: tuple[Path, dict[str, str]]) -> None:
    cwd, env = seeded
    done = run_cli(cwd, env, "status")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert_reads_in_100_columns(text)
    names = cells(text, 0)
    assert "amazon-archives/amazon-dsstne" in names and "(gone: not_found)" in names
    assert LONG_NAME in "".join(names)
    notes = " ".join(cells(text, 1))
    # The long error: on one line of words, wrapped beside the name, cut with an ellipsis.
    assert "last error (backfill): " + shorten(LONG_ERROR)[:150] in notes
    assert "…" in notes and notes.count("the server answered") < LONG_ERROR.count("the server answered")
    assert "gone: " + GONE in notes and "stars unavailable: " + UNAVAILABLE in notes
    assert "stars partial: walk revalidate, newest" in notes and "oldest 2019-03-04" in notes
    assert "irregular weeks 3" in text and f"newest {(NOW - timedelta(days=2)).date()}" in text
    assert "installation 5550001" in text and any(
        "#2" in line and "core" in line for line in text.splitlines()
    )


def test_status_json_has_the_same_facts(seeded: tuple[Path, dict[str, str]]) -> None:
    cwd, env = seeded
    done = run_cli(cwd, env, "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    repos = {r["repo"]: r for r in status["repositories"]}
    assert set(repos) == {*FRAMEWORKS, LONG_NAME}
    assert repos["deeplearning4j/deeplearning4j"]["last_error_message"] == "backfill: " + LONG_ERROR  # whole
    assert repos["amazon-archives/amazon-dsstne"]["gone"] == GONE
    # Every value is data: no JSON inside strings.
    assert repos["NVIDIA/DIGITS"]["series"]["stars"] == {"status": "unavailable", "detail": UNAVAILABLE}
    assert repos["Theano/Theano"]["series"]["stars"] == {
        "status": "complete",
        "detail": {"irregular_weeks": 3},
    }
    assert repos["BVLC/caffe"]["series"]["forks"] == {"status": "complete", "detail": None}
    newest = repos["BVLC/caffe"]["series"]["contributors"]["detail"]["newest"]
    assert newest.startswith((NOW - timedelta(days=2)).date().isoformat())
    partial = repos["tensorflow/tensorflow"]["series"]["stars"]
    assert partial["status"] == "partial" and partial["detail"]["oldest"] == "2019-03-04"

    def strings(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    assert not [s for s in strings(status) if s.lstrip().startswith(("{", "["))]
    assert repos["BVLC/caffe"]["stars"]["observed"] == 6_000
    tokens = {(t["token"], t["resource"]): (t["remaining"], t["limit"]) for t in status["tokens"]}
    assert tokens == {
        ("#1", "core"): (4032, 5000),
        ("#1", "graphql"): (4735, 5000),
        ("#2", "core"): (0, 5000),
        ("installation 5550001", "core"): (14876, 15000),
    }
