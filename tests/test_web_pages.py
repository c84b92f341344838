"""The HTML pages, served by uvicorn on a real port over a PostgreSQL store of two sample repositories.

What a user checks: the numbers a page shows are the API's (and so `collector report`'s); a former name
leads to the current page; the compare page's CSV and JSON links give exactly its table; every text from
GitHub or the address bar is escaped; a wrong parameter is one line naming it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.app import App
from collector.domain import GroupRule, parse_repo_name, utc_now
from collector.settings import load_settings
from collector.store import migrate
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.groups import save_discovery, save_group_rule
from collector.store.repos import find_repo
from tests.conftest import PgServer
from tests.test_reports_formats import XSS, Sample, fill, html_tables, samples
from tests.test_web_server import served

pytestmark = pytest.mark.postgres
GROUPS = '[groups]\nsamples = ["deep/alpha", "new/beta"]\nnone_yet = ["not/stored"]\n'


@dataclass
class Site:
    base: str

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=60, **kw)

    def page(self, path: str, status: int = 200) -> str:
        response = self.get(path)
        assert response.status_code == status, (path, response.text[-2000:])
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        return response.text


def build_sample_store(url: str) -> None:
    """The two sample repositories (one renamed, one with markup in its description), one that gained 50
    stars three days ago, and a rule group that new/beta left and deep/alpha joined on 2016-03-01."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    today = utc_now().date()
    fresh = Sample(
        name="fresh/gamma",
        github_id=33,
        created=today - timedelta(days=30),
        adds={"stars": {today - timedelta(days=20): 150, today - timedelta(days=3): 50}},
    )
    fill(engine, [*samples(), fresh])
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        alpha, beta = (find_repo(s, parse_repo_name(n)) for n in ("deep/alpha", "new/beta"))
        assert alpha is not None and beta is not None
        first, second = datetime(2016, 2, 1, tzinfo=UTC), datetime(2016, 3, 1, tzinfo=UTC)
        save_group_rule(s, "ml", GroupRule("topic", "machine-learning"), "cli", first)
        save_discovery(s, "ml", [beta.id], [], True, first - (second - first))
        save_discovery(s, "ml", [alpha.id], [], True, second)
    engine.dispose()


@pytest.fixture(scope="module")
def sample_site(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The web app over the sample store, on a free port."""
    url = pg_server.create_database()
    build_sample_store(url)
    cwd = tmp_path_factory.mktemp("site")
    Path(cwd / "collector.toml").write_text(GROUPS, encoding="utf-8")
    app = App(load_settings({"COLLECTOR_DATABASE_URL": url}, cwd=cwd))
    with served(app) as base:
        yield Site(base)
    app.engine.dispose()
    pg_server.drop_database(url)


def text_of(html: str) -> str:
    """What a reader sees: the page without its tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_the_front_page_shows_groups_counts_movers_and_a_search_box(sample_site: Site) -> None:
    response = sample_site.get("/")
    html = response.text
    shown = text_of(html)
    assert "3 repositories tracked" in shown
    assert "fresh/gamma 150 200 +50 33.3 %" in shown, "this week's mover is missing"
    assert "deep/alpha" not in shown.split("biggest movers")[1], "a repository that did not move is listed"
    assert '<a href="/groups/samples">samples</a>' in html and '<a href="/groups/ml">ml</a>' in html
    assert re.search(r'<label for="q">[^<]+</label>\s*<input id="q" name="q"', html), "unlabelled search box"
    assert '<form class="search" role="search" action="/search" method="get">' in html
    # Our own files only, no inline script (the CSP forbids it anyway).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']
    assert "script-src 'self'" in response.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert sample_site.get(asset).status_code == 200


def test_search_goes_to_the_repository_or_lists_matches(sample_site: Site) -> None:
    for typed in ("new/beta", "old/beta", "NEW/Beta"):  # a former name, any case: the current page
        response = sample_site.get(f"/search?q={typed}", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (302, "/repos/new/beta")
    assert '<a href="/repos/deep/alpha">deep/alpha</a>' in sample_site.page("/search?q=ALP")
    none = sample_site.page("/search?q=<b>zz</b>")
    assert "No tracked repository’s name contains “<b>zz</b>”" in text_of(none)
    assert "<b>zz" not in none, "the query is echoed unescaped"


def test_a_repository_page_shows_its_numbers_sources_and_escaped_description(sample_site: Site) -> None:
    moved = sample_site.get("/repos/old/beta", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (302, "/repos/new/beta")
    html = sample_site.page("/repos/deep/alpha")
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in html
    shown = text_of(html)
    assert "Last observed 2016-03-31 20:00 UTC" in shown
    assert "ml : #1 of 1" in shown and "samples : #2 of 2" in shown  # beta's 120 observed stars lead
    rows = {r[0]: r for r in html_tables(html)[-1][1:]}
    api = sample_site.get(
        "/api/v1/repos/deep/alpha/series?metric=stars&every=month&since=2016-01&until=2016-03"
    )
    by_month = {p["date"][:7]: p["value"] for p in api.json()["points"]}
    for month in ("2016-01", "2016-02", "2016-03"):
        assert rows[month][2] == f"{by_month[month]:,}"
    # 5 + 7 stars rebuilt from their dates by February; March's 30 is what GitHub showed on the 31st.
    assert rows["2016-02"][2:4] == ["12", "reconstructed"]
    assert rows["2016-03"][2:4] == ["30", "observed"]


def _table(html: str) -> list[list[str]]:
    (table,) = [t for t in html_tables(html) if t and t[0] and t[0][0] in ("date", "age")]
    return table


def test_compare_shows_one_chart_its_table_and_links_to_exactly_that_data(sample_site: Site) -> None:
    query = "repos=deep/alpha,old/beta&metric=stars&since=2016-01&until=2016-04&every=month"
    html = sample_site.page(f"/compare?{query}&scale=log")
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 1 and "log scale" in html
    table = _table(html)
    assert table[0] == ["date", "deep/alpha", "new/beta"]
    api = sample_site.get(f"/api/v1/compare?{query}").json()
    assert [row[0] for row in table[1:]] == [p["date"] for p in api["series"][0]["points"]]
    for column, series in enumerate(api["series"], start=1):
        assert [row[column] for row in table[1:]] == [
            "–" if p["value"] is None else f"{p['value']:,}" for p in series["points"]
        ]
    links = dict(re.findall(r'<a id="(csv|json)-link" href="([^"]+)"', html))
    assert sample_site.get(unescape(links["json"])).json() == {**api, "series": api["series"]}
    got = sample_site.get(unescape(links["csv"]))
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows == [[c.replace(",", "").replace("–", "") for c in row] for row in table]
    # The embed snippets are absolute URLs that answer with images.
    chart = re.search(r"!\[stars\]\((http://[^)]+/chart\.svg\?[^)]+)\)", unescape(html))
    assert chart is not None and chart.group(1).startswith(sample_site.base)
    assert httpx.get(chart.group(1), timeout=60).headers["content-type"].startswith("image/svg+xml")
    badges = re.findall(r"!\[stars\]\((http://[^)]+/badge/[^)]+)\)", unescape(html))
    assert [b.removeprefix(sample_site.base) for b in badges] == [
        "/badge/deep/alpha/stars.svg",
        "/badge/old/beta/stars.svg",
    ]
    assert all(httpx.get(b, timeout=60).status_code == 200 for b in badges)


def test_compare_by_age_starts_every_line_at_its_creation(sample_site: Site) -> None:
    query = "repos=deep/alpha,new/beta&since=2016-01&until=2016-04&align=age&every=week"
    table = _table(sample_site.page(f"/compare?{query}"))
    assert table[0] == ["age", "deep/alpha", "new/beta"]
    # alpha was created on Sunday 2016-01-10 and got 5 stars that day: week 0 ends on Saturday 01-16.
    # beta, created on Saturday 2016-02-20, was first observed (100 stars) on 02-25, in its week 1.
    assert table[1:4] == [["week 0", "5", "–"], ["week 1", "5", "100"], ["week 2", "5", "100"]]
    api = sample_site.get(
        "/api/v1/compare?repos=deep/alpha,new/beta&since=2016-01&until=2016-04&every=week"
    ).json()
    beta = [p["value"] for p in api["series"][1]["points"] if p["date"] >= "2016-02-20"]
    assert [row[2] for row in table[1 : len(beta) + 1]] == ["–" if v is None else f"{v:,}" for v in beta]
    got = sample_site.get(f"/compare.csv?{query}").text
    rows = list(csv.reader(io.StringIO(got)))
    assert rows[:3] == [["weeks_since_creation", "deep/alpha", "new/beta"], ["0", "5", ""], ["1", "5", "100"]]


@pytest.mark.parametrize(
    ("query", "status", "names"),
    [
        ("repos=deep/alpha&metric=likes", 400, "metric: 'likes' is not valid"),
        ("repos=deep/alpha&scale=cubic", 400, "scale: 'cubic' is not valid"),
        ("repos=deep/alpha&sincе=2016-01", 400, "unknown query parameter"),
        ("repos=deep/alpha&since=2016-13", 400, "since: '2016-13' is not a valid month"),
        ("repos=no/such", 404, "not in the store: no/such"),
    ],
)
def test_a_wrong_compare_parameter_is_one_line_naming_it(
    sample_site: Site, query: str, status: int, names: str
) -> None:
    html = sample_site.page(f"/compare?{query}", status)
    (error,) = re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)
    assert names in unescape(error) and "\n" not in error and "Traceback" not in html


def test_a_group_page_ranks_at_a_date_sorts_and_shows_joins_and_leaves(sample_site: Site) -> None:
    html = sample_site.page("/groups/samples?at=2016-03-31")
    (ranking,) = [t for t in html_tables(html) if t[0][:2] == ["rank by stars", "repository"]]
    assert [r[:3] for r in ranking[1:]] == [["1", "new/beta", "120"], ["2", "deep/alpha", "30"]]
    by_forks = sample_site.page("/groups/samples?at=2016-03-31&sort=forks")
    (ranking,) = [t for t in html_tables(by_forks) if t[0][0] == "rank by forks"]
    assert [r[:2] for r in ranking[1:]] == [["1", "new/beta"], ["2", "deep/alpha"]]
    assert 'href="/groups/samples?at=2016-03-31&amp;sort=contributors"' in html
    ml = text_of(sample_site.page("/groups/ml?at=2016-03-31"))
    assert "deep/alpha 2016-03-01" in ml and "new/beta 2016-01-03 2016-03-01" in ml
    assert "no such" not in ml
    empty = text_of(sample_site.page("/groups/none_yet?at=2016-03-31"))  # none of its members is stored
    assert "none_yet" in empty and "Traceback" not in empty
    missing = sample_site.page("/groups/nope", 404)
    assert "group: 'nope' is not in the config or the store" in unescape(missing)
    assert "at: '2016-02-30' is not a valid day" in unescape(
        sample_site.page("/groups/ml?at=2016-02-30", 400)
    )


def test_pages_answer_head_and_revalidate_with_an_etag(sample_site: Site) -> None:
    first = sample_site.get("/groups/samples?at=2016-03-31")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    again = sample_site.get("/groups/samples?at=2016-03-31", headers={"If-None-Match": f"W/{etag}"})
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(sample_site.base + "/compare", timeout=60)
    assert head.status_code == 200 and head.content == b""
    assert httpx.post(sample_site.base + "/compare", timeout=60).status_code == 405
