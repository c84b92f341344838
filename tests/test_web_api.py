"""The JSON API against the 2017 frameworks synced into PostgreSQL, served by uvicorn on a real port.

What a user checks: the API's numbers are `collector report`'s; the ranking at 2017-01-03 is the book's
Table 2-1; former names answer for the current repository; pages link to each other and cover every
tracked repository once; every refusal is one JSON line naming the parameter; the OpenAPI document is
valid and describes what is served.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy import text

from collector.app import App
from collector.config import DEFAULT_GROUP_NAME
from collector.settings import load_settings
from collector.store.engine import make_engine
from tests.conftest import Synced, run_cli
from tests.test_e2e_sync import TABLE_2_1
from tests.test_web_server import served

# The session's frameworks sync (shared with test_e2e_sync) takes minutes on a loaded machine.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]


@dataclass
class Api:
    base: str
    cwd: Path
    env: dict[str, str]

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=60, **kw)

    def json(self, path: str) -> Any:
        response = self.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == "application/json"
        return response.json()

    def report(self, *args: str) -> Any:
        done = run_cli(self.cwd, self.env, "report", "--format", "json", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def api(synced: Synced) -> Iterator[Api]:
    cwd, env, _, _, _ = synced
    app = App(load_settings(env, cwd=cwd))
    with served(app) as base:
        yield Api(base, cwd, env)
    app.engine.dispose()


def table_2_1() -> dict[str, tuple[int, int, int]]:
    rows = csv.DictReader(TABLE_2_1.read_text(encoding="utf-8").splitlines())
    return {
        r["repo_as_cited"]: (int(r["stars"]), int(r["forks"]), int(r["contributors"]))
        for r in rows
        if r["date"] == "2017-01-03"
    }


def test_the_ranking_at_2017_01_03_is_table_2_1_and_former_names_answer(api: Api) -> None:
    expected = table_2_1()
    current = {}
    for cited in expected:  # the book cites fchollet/keras and dmlc/mxnet: GitHub's redirects, stored
        series = api.json(f"/api/v1/repos/{cited}/series?metric=stars&since=2017-01-03&until=2017-01-03")
        current[series["repo"]] = expected[cited]
        assert series["points"] == [{"date": "2017-01-03", "value": expected[cited][0]}]
    assert "keras-team/keras" in current and "fchollet/keras" not in current
    ranking = api.json(f"/api/v1/ranking?at=2017-01-03&metric=stars&group={DEFAULT_GROUP_NAME}")
    assert (ranking["at"], ranking["metric"]) == ("2017-01-03", "stars")
    got = {r["repo"]: (r["stars"], r["forks"], r["contributors"]) for r in ranking["rows"]}
    assert {name: got.get(name) for name in current} == current  # the group has 3 more members
    assert ranking["rows"][0] == {
        "rank": 1,
        "repo": "tensorflow/tensorflow",
        "stars": 41628,
        "forks": 19339,
        "contributors": 568,
    }
    assert [r["rank"] for r in ranking["rows"]] == list(range(1, len(got) + 1))
    by_forks = api.json(f"/api/v1/ranking?at=2017-01-03&metric=forks&group={DEFAULT_GROUP_NAME}")
    forks = [r["forks"] for r in by_forks["rows"]]
    assert forks == sorted(forks, reverse=True) and by_forks["rows"][1]["repo"] == "BVLC/caffe"


def test_the_ranking_equals_collector_report_at(api: Api) -> None:
    report = api.report("--at", "2017-01-03")
    ranking = api.json("/api/v1/ranking?at=2017-01-03")
    expected = [
        {k: row[k] for k in ("rank", "repo", "stars", "forks", "contributors")} for row in report["rows"]
    ]
    assert ranking["rows"] == expected and len(expected) >= 11


@pytest.mark.parametrize("every", ["week", "month"])
def test_compare_equals_collector_report_trends(api: Api, every: str) -> None:
    names = ["tensorflow/tensorflow", "BVLC/caffe", "keras-team/keras"]
    span = ("2016-11-01", "2017-02-28")
    for metric in ("stars", "contributors"):
        report = api.report("--since", span[0], "--until", span[1], "--every", every, "--metric", metric)
        as_of = {p["label"]: p["as_of"] for p in report["periods"]}
        expected = {(r["repo"], as_of[r["period"]]): r[metric] for r in report["rows"] if r["repo"] in names}
        query = f"repos={','.join(names)}&metric={metric}&since={span[0]}&until={span[1]}&every={every}"
        compared = api.json(f"/api/v1/compare?{query}")
        assert [s["repo"] for s in compared["series"]] == names  # in the order asked
        got = {(s["repo"], p["date"]): p["value"] for s in compared["series"] for p in s["points"]}
        assert got == expected and len(got) >= 3 * 4
        keras = compared["series"][2]
        assert keras["created"] == "2015-03-28" or keras["created"] < "2016-01-01"


def test_a_daily_series_is_repo_daily(api: Api) -> None:
    since, until = date(2016, 12, 20), date(2017, 1, 10)
    series = api.json(f"/api/v1/repos/fchollet/keras/series?metric=forks&since={since}&until={until}")
    assert (series["repo"], series["metric"], series["every"]) == ("keras-team/keras", "forks", "day")
    engine = make_engine(api.env["COLLECTOR_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT day, forks FROM repo_daily WHERE repo = :r AND day BETWEEN :a AND :b ORDER BY day"),
            {"r": "keras-team/keras", "a": since, "b": until},
        ).all()
    engine.dispose()
    assert series["points"] == [{"date": r.day.isoformat(), "value": r.forks} for r in rows]
    assert len(rows) == 22


def test_repos_come_in_linked_pages_covering_repo_latest_once(api: Api) -> None:
    seen: list[dict[str, Any]] = []
    path: str | None = "/api/v1/repos?per_page=4"
    while path is not None:
        response = api.get(path)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page["repos"])
        if page["next"]:
            assert f'<{page["next"]}>; rel="next"' in response.headers["link"]
        path = page["next"]
    engine = make_engine(api.env["COLLECTOR_DATABASE_URL"])
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT repo, stars, forks FROM repo_latest")).all()
    engine.dispose()
    assert len(seen) == page["total"] == len(latest) >= 11
    assert {r["repo"]: (r["stars"], r["forks"]) for r in seen} == {r.repo: (r.stars, r.forks) for r in latest}
    assert 'rel="last"' in response.headers["link"] and 'rel="next"' not in response.headers["link"]


@pytest.mark.parametrize(
    ("path", "status", "names"),
    [
        ("/api/v1/repos?per_page=101", 400, "per_page"),
        ("/api/v1/repos?page=0", 400, "page"),
        ("/api/v1/repos?sort=stars", 400, "sort"),
        ("/api/v1/repos/nobody/nothing/series", 404, "nobody/nothing"),
        ("/api/v1/repos/tensorflow/tensorflow/series?metric=likes", 400, "metric"),
        ("/api/v1/repos/tensorflow/tensorflow/series?every=fortnight", 400, "every"),
        ("/api/v1/repos/tensorflow/tensorflow/series?since=yesterday", 400, "since"),
        ("/api/v1/repos/tensorflow/tensorflow/series?since=2017-02-01&until=2017-01-01", 400, "since"),
        ("/api/v1/repos/tensorflow/tensorflow/series?metrc=forks", 400, "metrc"),
        ("/api/v1/repos/tensorflow/tensorflow/series?metric=commits", 400, "every"),
        ("/api/v1/ranking?at=2017-02-30", 400, "at"),
        ("/api/v1/ranking?at=2999-01-01", 400, "at"),
        ("/api/v1/ranking?metric=commits", 400, "metric"),
        ("/api/v1/ranking?group=no-such-group", 404, "no-such-group"),
        ("/api/v1/compare?metric=stars", 400, "repos"),
        ("/api/v1/compare?repos=a%20b/c", 400, "repos"),
        ("/api/v1/compare?repos=tensorflow/tensorflow,nobody/nothing", 404, "nobody/nothing"),
        ("/api/v1/nowhere", 404, "/api/v1/nowhere"),
    ],
)
def test_refusals_are_one_json_line_naming_the_parameter(
    api: Api, path: str, status: int, names: str
) -> None:
    response = api.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert names in error and "\n" not in error and set(response.json()) == {"error"}


def test_the_openapi_document_is_valid_and_every_path_answers(api: Api) -> None:
    document = api.json("/api/v1/openapi.json")
    validate(document)
    examples = {
        "/api/v1/repos/{owner}/{name}/series": "/api/v1/repos/tensorflow/tensorflow/series",
        "/api/v1/compare": "/api/v1/compare?repos=tensorflow/tensorflow",
    }
    for path, item in document["paths"].items():
        response = api.json(examples.get(path, path))
        schema = item["get"]["responses"]["200"].get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            assert set(schema["required"]) == set(response), path


def test_api_answers_carry_a_validator_that_weak_copies_match(api: Api) -> None:
    path = "/api/v1/ranking?at=2017-01-03"
    first = api.get(path)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    for sent in (etag, "W/" + etag, f'"other", W/{etag}'):
        again = api.get(path, headers={"If-None-Match": sent})
        assert again.status_code == 304 and again.content == b"", sent
    assert api.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_monthly_series_ends_each_month_on_its_repo_daily_value(api: Api) -> None:
    """Weeks and months come from the report, days from repo_daily: at each period's end they agree."""
    path = "/api/v1/repos/tensorflow/tensorflow/series?since=2016-01&until=2017-06&every=month"
    for metric in ("stars", "forks", "contributors"):
        monthly = api.json(f"{path}&metric={metric}")["points"]
        daily = api.json(path.replace("every=month", "every=day") + f"&metric={metric}")["points"]
        on = {p["date"]: p["value"] for p in daily}
        assert len(monthly) == 18 and all(p["value"] is not None for p in monthly)
        assert {p["date"]: p["value"] for p in monthly} == {p["date"]: on[p["date"]] for p in monthly}, metric
