"""End to end: the simulator as a real HTTP server on loopback, reached with plain httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from collector.testing.simulator import SimulatorApp, running_simulator
from collector.testing.tiny import ROCKET_STARS, tiny_scenario

AUTH = {"Authorization": "Bearer t1"}


def test_real_server_serves_rest_redirects_and_graphql_on_loopback() -> None:
    app = SimulatorApp(tiny_scenario())
    with running_simulator(app) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
        with httpx.Client(base_url=base_url, headers=AUTH) as gh:
            repo = gh.get("/repos/acme/rocket")
            assert repo.status_code == 200 and repo.json()["stargazers_count"] == ROCKET_STARS
            assert repo.headers["x-ratelimit-remaining"] == "4999"
            moved = gh.get("/repos/olduser/rocket/forks", params={"per_page": 2})
            assert moved.status_code == 301
            assert moved.headers["location"] == f"{base_url}/repositories/1001/forks?per_page=2"
            forks = gh.get(moved.headers["location"])
            assert forks.status_code == 200 and len(forks.json()) == 2
            assert forks.headers["link"].startswith(f"<{base_url}/repositories/1001/forks?per_page=2&page=2>")
            not_modified = gh.get("/repos/acme/rocket", headers={"If-None-Match": repo.headers["etag"]})
            assert not_modified.status_code == 304 and not_modified.content == b""
            ghes = gh.get("/api/v3/repos/acme/rocket")
            assert ghes.json()["url"] == f"{base_url}/api/v3/repos/acme/rocket"
            query = '{ repository(owner: "acme", name: "rocket") { stargazerCount } }'
            data = gh.post("/api/graphql", json={"query": query}).json()
            assert data == {"data": {"repository": {"stargazerCount": ROCKET_STARS}}}
            assert gh.head("/repos/acme/rocket").status_code == 200
    assert app.stats.not_modified == 1
    assert app.stats.count(template="/graphql") == 0 and app.stats.count(template="/api/graphql") == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/rate_limit")


def test_hanging_fault_times_out_the_client_and_the_server_still_stops_promptly() -> None:
    app = SimulatorApp(tiny_scenario(), fault_rate=1.0, fault_kinds=["timeout"], hang_seconds=30)
    started = time.perf_counter()
    with running_simulator(app) as base_url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{base_url}/repos/acme/rocket", timeout=0.3)
    assert time.perf_counter() - started < 3
    assert app.stats.faults["timeout"] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_command_line_server_serves_a_builtin_scenario() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "collector.testing.simulator",
        "--port",
        str(port),
        "--scenario",
        "synthetic-3",
        "--rate-limit",
        "77",
    ]
    # Started with SIGINT ignored, as a background job of a shell without job control starts it (CI).
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "3 repositories" in banner
        resp = httpx.get(f"http://127.0.0.1:{port}/rate_limit", headers=AUTH, timeout=60)
        assert resp.json()["resources"]["core"]["limit"] == 77
        anonymous = httpx.get(f"http://127.0.0.1:{port}/rate_limit", timeout=60)
        assert anonymous.json()["resources"]["core"]["limit"] == 60
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()  # reaped here, so that its pipes are not left to warn in another test
            out, err = proc.communicate()
            pytest.fail(f"the simulator did not stop within 60 s of SIGINT: {err[-2000:]}")
    assert proc.returncode == 0, err
