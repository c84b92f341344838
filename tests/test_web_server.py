"""The web server: uvicorn on a real port, in a thread for in-process tests; its rules (read-only,
security headers, validators, auth) as a browser or a proxy sees them."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.app import App
from collector.cli.serve import bind_listener
from collector.config import load_config
from collector.errors import ConfigError, InvalidGroupRule, StoreUnavailable
from collector.service.http import Reply, _guarded, matches, store_trouble
from collector.settings import load_settings
from collector.store import migrate
from collector.store.engine import make_engine
from collector.web import api as web_api
from collector.web import pages as web_pages
from collector.web.app import build_app
from collector.web.openapi import document
from tests.conftest import run_cli
from tests.test_reports_formats import fill, samples
from tests.test_service_http import start


@contextmanager
def served(app: App) -> Iterator[str]:
    """The web app of `app` on 127.0.0.1 and a free port, from a thread; yields its base URL."""
    sock = bind_listener("127.0.0.1", 0)
    config = uvicorn.Config(build_app(app), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)  # not in the main thread: uvicorn installs no signal handler
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


# --- the tests ----------------------------------------------------------------------------------------

TOKEN = "web-token-0123456789abcdef"
PASSWORD = "correct horse battery staple"
ALL_PATHS = ("/healthz", "/api/v1/repos", "/badge/deep/alpha/stars.svg", "/static/none.css", "/nowhere")


def make_app(cwd: Path, url: str, config: str = "", env: dict[str, str] | None = None) -> App:
    (cwd / "collector.toml").write_text(config, encoding="utf-8")
    return App(load_settings({"COLLECTOR_DATABASE_URL": url, **(env or {})}, cwd=cwd))


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite store holding the report tests' samples (deep/alpha, ...)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'store.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    fill(engine, samples())
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, sqlite_url: str) -> Iterator[str]:
    app = make_app(tmp_path_factory.mktemp("open"), sqlite_url)
    with served(app) as url:
        yield url
    app.engine.dispose()


def test_every_answer_carries_the_security_headers(base: str) -> None:
    for method in ("GET", "HEAD", "POST"):
        for path in ALL_PATHS:
            response = httpx.request(method, base + path, timeout=30)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "default-src 'self'" in csp, (method, path)
            assert "unsafe-inline" not in csp and "img-src 'self' data:" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(base: str, method: str) -> None:
    for path in ALL_PATHS:
        response = httpx.request(method, base + path, timeout=30)
        assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD"), (method, path)
    api = httpx.request(method, base + "/api/v1/ranking", timeout=30)
    assert api.json() == {"error": "only GET and HEAD"}


def test_head_is_get_without_its_body(base: str) -> None:
    for path in ("/healthz", "/badge/deep/alpha/stars.svg", "/api/v1/ranking?at=2016-03-31", "/nowhere"):
        get, head = httpx.get(base + path, timeout=30), httpx.head(base + path, timeout=30)
        assert head.status_code == get.status_code and head.content == b"", path
        assert head.headers["content-length"] == str(len(get.content)), path
        assert head.headers.get("etag") == get.headers.get("etag"), path


def test_a_badge_answers_304_to_a_weak_copy_of_its_etag(base: str) -> None:
    path = base + "/badge/deep/alpha/stars.svg"
    first = httpx.get(path, timeout=30)
    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=300"
    etag = first.headers["etag"]
    for sent in (etag, f"W/{etag}", f'W/"elsewhere", {etag}', "*"):
        again = httpx.get(path, headers={"If-None-Match": sent}, timeout=30)
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag), sent
    assert httpx.get(path, headers={"If-None-Match": 'W/"elsewhere"'}, timeout=30).status_code == 200


@settings(max_examples=60, deadline=None)
@given(
    tag=st.text(alphabet="0123456789abcdef", min_size=1, max_size=20),
    others=st.lists(st.text(alphabet="0123456789abcdefxyz", min_size=1, max_size=20), max_size=4),
    weak=st.booleans(),
    position=st.integers(min_value=0, max_value=4),
)
def test_if_none_match_matches_its_tag_weak_or_strong_anywhere_in_the_list(
    tag: str, others: list[str], weak: bool, position: int
) -> None:
    etag = f'"{tag}"'
    listed = [f'"{o}"' for o in others if o != tag]
    assert not matches(etag, ", ".join(listed))
    listed.insert(min(position, len(listed)), ("W/" if weak else "") + etag)
    assert matches(etag, ",".join(listed)) and matches(etag, " , ".join(listed))


def test_the_store_down_is_one_line_that_names_no_host_user_or_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://secretuser:secretpw@127.0.0.1:1/secretdb"
    app = make_app(tmp_path, url)
    with served(app) as base:
        for path in (
            "/readyz",
            "/badge/deep/alpha/stars.svg",
            "/chart.svg?repos=deep/alpha",
            "/api/v1/repos",
        ):
            response = httpx.get(base + path, timeout=30)
            assert response.status_code == 503, (path, response.text)
            body = response.text.strip()
            assert "\n" not in body and "does not answer" in body, path
            assert not any(s in body for s in ("secretuser", "secretpw", "secretdb", "127.0.0.1", "5432"))
        assert httpx.get(base + "/healthz", timeout=30).status_code == 200


def test_bearer_auth_guards_all_but_the_open_paths(tmp_path: Path, sqlite_url: str) -> None:
    config = '[server.auth]\ntoken_env = "COLLECTOR_WEB_TOKEN"\nopen = ["/healthz", "/badge/"]\n'
    app = make_app(tmp_path, sqlite_url, config, {"COLLECTOR_WEB_TOKEN": TOKEN})
    assert TOKEN in app.secrets()  # masked wherever a log line might carry it
    with served(app) as base:
        for path in ("/api/v1/repos", "/readyz", "/metrics", "/chart.svg?repos=deep/alpha"):
            for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
                refused = httpx.get(base + path, headers=header, timeout=30)
                assert refused.status_code == 401, (path, header)
                assert refused.headers["www-authenticate"] == 'Bearer realm="collector"'
                assert TOKEN not in refused.text
            allowed = httpx.get(base + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            assert allowed.status_code == 200, path
        assert httpx.get(base + "/api/v1/repos", timeout=30).json()["error"].startswith("authentication")
        for path in ("/healthz", "/badge/deep/alpha/stars.svg"):
            assert httpx.get(base + path, timeout=30).status_code == 200, path


def test_basic_auth_with_a_user_and_a_password_from_the_environment(tmp_path: Path, sqlite_url: str) -> None:
    config = '[server.auth]\nuser = "reader"\npassword_env = "WEB_PASSWORD"\n'
    app = make_app(tmp_path, sqlite_url, config, {"WEB_PASSWORD": PASSWORD})
    with served(app) as base:
        assert httpx.get(base + "/api/v1/repos", auth=("reader", PASSWORD), timeout=30).status_code == 200
        for user, password in (("reader", "wrong"), ("someone", PASSWORD), ("reader", "")):
            refused = httpx.get(base + "/api/v1/repos", auth=(user, password), timeout=30)
            assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        for path in ("/healthz", "/readyz", "/metrics"):  # open by default
            assert httpx.get(base + path, timeout=30).status_code == 200, path


@pytest.mark.parametrize(
    ("auth", "names"),
    [
        ('token_env = "A"\nuser = "u"', "'server.auth'"),
        ('token_env = "not a name"', "'server.auth.token_env'"),
        ('user = "u"', "'server.auth.password_env'"),
        ('user = "a:b"\npassword_env = "P"', "'server.auth.user'"),
        ('token_env = "T"\nopen = "/healthz"', "'server.auth.open'"),
        ('token_env = "T"\ntoken = "x"', "'server.auth.token'"),
    ],
)
def test_a_bad_server_auth_is_one_line_naming_its_key(tmp_path: Path, auth: str, names: str) -> None:
    path = tmp_path / "collector.toml"
    path.write_text(f"[server.auth]\n{auth}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert names in str(caught.value) and "\n" not in str(caught.value)


def test_serve_with_a_token_logs_none_and_stops_on_sigterm(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "collector.toml").write_text('[server.auth]\ntoken_env = "COLLECTOR_WEB_TOKEN"\n', "utf-8")
    env = {"COLLECTOR_DATABASE_URL": sqlite_url}
    missing = run_cli(tmp_path, env, "serve", "--listen", "127.0.0.1:0", timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
    assert "COLLECTOR_WEB_TOKEN" in missing.stderr and "Traceback" not in missing.stderr
    running, base = start(tmp_path, {**env, "COLLECTOR_WEB_TOKEN": TOKEN}, "serve")
    try:
        assert httpx.get(base + "/api/v1/repos", timeout=30).status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(base + "/api/v1/repos", headers=bearer, timeout=30).json()["total"] == len(samples())
    finally:
        assert running.stop() == 0, "".join(running.lines)
    log = "".join(running.lines)
    assert "event=http_stopped" in log and TOKEN not in log


def test_connections_to_the_listener_send_without_waiting_for_acks() -> None:
    """Nagle's algorithm off on every accepted connection (asyncio does it for sockets that say TCP): with
    it on, an answer written as headers then body waits for the client's delayed ACK, ~40 ms each."""

    async def accept_one() -> int:
        listener = bind_listener("127.0.0.1", 0)
        seen: asyncio.Queue[int] = asyncio.Queue()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            await seen.put(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        nodelay = await asyncio.wait_for(seen.get(), timeout=10)
        writer.close()
        server.close()
        await server.wait_closed()
        return nodelay

    assert asyncio.run(accept_one()) != 0


# --- caching under auth, page numbers, error kinds ---------------------------------------------------


def test_with_auth_guarded_answers_are_private_and_vary_on_authorization(
    tmp_path: Path, sqlite_url: str
) -> None:
    config = '[server.auth]\ntoken_env = "COLLECTOR_WEB_TOKEN"\nopen = ["/healthz", "/badge/"]\n'
    app = make_app(tmp_path, sqlite_url, config, {"COLLECTOR_WEB_TOKEN": TOKEN})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with served(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        for path in ("/api/v1/repos", "/", "/chart.svg?repos=deep/alpha"):
            answer = client.get(path, headers=auth)
            assert answer.status_code == 200, (path, answer.text)
            cache = answer.headers["cache-control"]
            assert cache.startswith("private, max-age=") and "public" not in cache, (path, cache)
            assert "Authorization" in answer.headers["vary"], path
            again = client.get(path, headers={**auth, "If-None-Match": answer.headers["etag"]})
            assert again.status_code == 304 and "public" not in again.headers["cache-control"], path
            assert "Authorization" in again.headers["vary"], path
        badge = client.get("/badge/deep/alpha/stars.svg")  # open: GitHub's image proxy may keep it
        assert badge.headers["cache-control"] == "public, max-age=300" and "vary" not in badge.headers
    app.engine.dispose()


def test_without_auth_answers_stay_public(base: str) -> None:
    answer = httpx.get(base + "/api/v1/repos", timeout=30)
    assert answer.headers["cache-control"].startswith("public, max-age=") and "vary" not in answer.headers


OUT_OF_RANGE = ("²", "١", "0", "-1", "+1", " 1", "1e3", "", "9" * 30, "1000000000")


@pytest.mark.parametrize(("key", "beyond"), [("page", "100001"), ("per_page", "101")])
def test_page_numbers_are_ascii_whole_numbers_within_bounds(base: str, key: str, beyond: str) -> None:
    for value in (*OUT_OF_RANGE, beyond):
        answer = httpx.get(base + "/api/v1/repos", params={key: value}, timeout=30)
        assert answer.status_code == 400, (key, value, answer.text)
        error = answer.json()["error"]
        assert error.startswith(f"{key}: ") and "\n" not in error and "whole number" in error, error
    last = {"page": web_api.MAX_PAGE, "per_page": web_api.MAX_PER_PAGE}[key]
    assert httpx.get(base + "/api/v1/repos", params={key: str(last)}, timeout=30).status_code == 200
    described = document()["paths"]["/api/v1/repos"]["get"]["parameters"]
    assert {p["name"]: p["schema"]["maximum"] for p in described}[key] == last


def _failing(error: Exception) -> Callable[..., Any]:
    def view(path: object, query: object) -> Any:
        raise error

    return view


def test_only_store_errors_are_a_503_and_an_empty_message_is_named_by_its_kind() -> None:
    assert "StoreUnavailable" in store_trouble(StoreUnavailable(), "api")
    rule = "group g: topic 'a b' is not a GitHub topic; use lowercase letters, digits and hyphens"
    cases = ((StoreUnavailable(), 503, "StoreUnavailable"), (InvalidGroupRule(rule), 400, rule))
    for error, status, line in cases:
        service: Reply = _guarded(_failing(error), {}, {}, "chart")
        api: Reply = web_api._answer(_failing(error), {}, {})
        page = web_pages._answer(_failing(error), {}, {})
        assert (service.status, api.status, page.status) == (status, status, status), error
        assert page.context is not None
        texts = (service.body.decode().strip(), json.loads(api.body)["error"], page.context["message"])
        for text in texts:
            assert line in text and "\n" not in text, text
            assert ("does not answer" in text) == (status == 503), text
