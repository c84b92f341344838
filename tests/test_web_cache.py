"""Answers kept while the store is unchanged (collector.web.cache), served by uvicorn on a real port.

What a user checks: asking twice computes once and answers the same; a write shows as soon as the answer
expires, after the 60 s that browsers may keep it too; refusals are never kept, so a fix shows at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from collector.app import App
from collector.config import load_config
from collector.domain import GroupRule, Snapshot, parse_repo_name, utc_now
from collector.errors import ConfigError
from collector.service.http import Reply
from collector.settings import load_settings
from collector.store.engine import session_factory, transaction
from collector.store.groups import save_discovery, save_group_rule
from collector.store.history import save_snapshot
from collector.store.repos import find_repo
from collector.web import cache as cache_module
from collector.web import data
from collector.web.cache import AnswerCache
from tests.conftest import PgServer
from tests.test_web_pages import GROUPS, build_sample_store
from tests.test_web_server import served

RANKING = "/api/v1/ranking"


def _site(url: str, cwd: Path, config: str = "") -> App:
    build_sample_store(url)
    (cwd / "collector.toml").write_text(GROUPS + config, encoding="utf-8")
    return App(load_settings({"COLLECTOR_DATABASE_URL": url}, cwd=cwd))


@pytest.fixture
def pg_app(pg_server: PgServer, tmp_path: Path) -> Iterator[App]:
    url = pg_server.create_database()
    app = _site(url, tmp_path)
    yield app
    app.engine.dispose()
    pg_server.drop_database(url)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the API computed its ranking."""
    calls: list[int] = []
    real = data.ranking

    def ranking(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "ranking", ranking)
    return calls


def _stars(base: str, repo: str = "fresh/gamma") -> int:
    response = httpx.get(base + RANKING, timeout=60)
    assert response.status_code == 200, response.text
    return next(row["stars"] for row in response.json()["rows"] if row["repo"] == repo)


def _observe(session: Session, stars: int, repo: str = "fresh/gamma") -> None:
    """A snapshot of `repo` taken now with `stars` (today's observation wins over the rebuilt count)."""
    row = find_repo(session, parse_repo_name(repo))
    assert row is not None
    snap = Snapshot(utc_now(), stars, 1, 1, 0, None, 0, False)
    save_snapshot(session, row.id, snap)


@pytest.mark.postgres
def test_asking_twice_computes_once_and_a_write_shows_once_the_answer_expires(
    pg_app: App, counted: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(cache_module, "now", lambda: clock[0])
    with served(pg_app) as base:
        first = httpx.get(base + RANKING, timeout=60)
        again = httpx.get(base + RANKING, timeout=60)
        assert first.status_code == again.status_code == 200
        assert again.content == first.content and len(counted) == 1
        assert "max-age=60" in first.headers["cache-control"]  # what browsers may reuse, the server does
        with transaction(session_factory(pg_app.engine)) as session:
            _observe(session, 999)
        clock[0] += 59
        assert _stars(base) == 200 and len(counted) == 1, "kept no longer than a browser may keep it"
        clock[0] += 1
        assert _stars(base) == 999 and len(counted) == 2
        assert httpx.get(base + RANKING + "?metric=forks", timeout=60).status_code == 200
        assert len(counted) == 3, "another query is another answer"
        exposition = httpx.get(base + "/metrics", timeout=60).text
        assert 'collector_web_answers_total{served="kept"} 2.0' in exposition
        assert 'collector_web_answers_total{served="computed"} 3.0' in exposition


@pytest.mark.postgres
def test_refusals_and_unknown_groups_are_never_kept(pg_app: App) -> None:
    with served(pg_app) as base:
        assert httpx.get(base + RANKING + "?at=tomorrow", timeout=60).status_code == 400
        assert httpx.get(base + RANKING + "?group=fresh", timeout=60).status_code == 404
        with transaction(session_factory(pg_app.engine)) as session:  # as `collector discover` would
            row = find_repo(session, parse_repo_name("fresh/gamma"))
            assert row is not None
            save_group_rule(session, "fresh", GroupRule("topic", "fresh"), "cli", utc_now())
            save_discovery(session, "fresh", [row.id], [], True, utc_now())
        found = httpx.get(base + RANKING + "?group=fresh", timeout=60)
        assert found.status_code == 200 and [r["repo"] for r in found.json()["rows"]] == ["fresh/gamma"]


def test_cache_seconds_0_computes_every_answer_and_a_wrong_value_is_one_line(
    tmp_path: Path, counted: list[int]
) -> None:
    app = _site(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, "[server]\ncache_seconds = 0\n")
    try:
        with served(app) as base:
            assert _stars(base) == _stars(base) == 200
        assert len(counted) == 2
    finally:
        app.engine.dispose()
    (tmp_path / "collector.toml").write_text("[server]\ncache_seconds = 600\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path / "collector.toml")
    assert str(refused.value) == (
        f"{tmp_path / 'collector.toml'}: key 'server.cache_seconds' is 600; expected whole seconds from 0"
        " (compute every answer) to 60 (their max-age)"
    )


def _computing(body: bytes, calls: list[bytes]) -> Callable[[], Reply]:
    def compute() -> Reply:
        calls.append(body)
        return Reply(200, body)

    return compute


def test_the_least_recently_used_answers_go_first_and_large_ones_are_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache_module, "now", lambda: 0.0)
    served: list[str] = []
    cache, calls = AnswerCache(max_bytes=25, served=served.append), []
    for key in ("a", "b", "a", "c"):  # 10 bytes each: "b", the least recently used, makes room for "c"
        cache.answer(key, _computing(key.encode() * 10, calls))
    assert calls == [b"a" * 10, b"b" * 10, b"c" * 10]
    cache.answer("a", _computing(b"a" * 10, calls))
    assert len(calls) == 3 and served.count("kept") == 2
    cache.answer("b", _computing(b"b" * 10, calls))
    assert len(calls) == 4, "b was dropped"
    cache.answer("huge", _computing(b"h" * 26, calls))
    cache.answer("huge", _computing(b"h" * 26, calls))
    assert calls[-2:] == [b"h" * 26] * 2, "an answer larger than the cache is not kept"
