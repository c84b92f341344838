"""GitHub App authentication in the simulator: JWTs, installation tokens, their expiry and rate limits."""

from __future__ import annotations

import dataclasses
import email.utils
import json
import re
import time
from typing import Any

import httpx
import jwt
import pytest

from collector.testing.app_auth import (
    EXP_NOT_FUTURE,
    EXP_TOO_FAR,
    IAT_FUTURE,
    IAT_INVALID,
    ISS_NOT_INTEGER,
    NO_INTEGRATION,
    NOT_DECODED,
    SimApp,
    SimInstallation,
    make_test_app,
)
from collector.testing.simulator import SimulatorApp, SimulatorTransport
from collector.testing.tiny import tiny_scenario

API = "https://api.github.com"
APP = make_test_app()
INSTALLATION = APP.installations[0].id
START = 1_700_000_000.0
COUNTERS = 'query { repository(owner: "acme", name: "rocket") { stargazerCount } }'


class Clock:
    """A hand-moved clock."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(app: SimApp = APP, base: str = API, **options: Any) -> tuple[SimulatorApp, httpx.Client, Clock]:
    clock = Clock()
    sim = SimulatorApp(tiny_scenario(), github_app=app, clock=clock, **options)
    return sim, httpx.Client(transport=SimulatorTransport(sim), base_url=base), clock


def sign(
    now: float,
    *,
    app: SimApp = APP,
    iat: int | str = -60,
    exp: int = 600,
    iss: Any = None,
    key: str | None = None,
) -> str:
    """A JWT as the docs sign it: iat 60 s in the past, exp 10 minutes ahead, iss the App id (an integer)."""
    issued: Any = iat if isinstance(iat, str) else int(now) + iat
    claims = {"iat": issued, "exp": int(now) + exp, "iss": app.app_id if iss is None else iss}
    # PyJWS: PyJWT's jwt.encode insists on a string `iss`, GitHub's examples send an integer.
    return jwt.PyJWS().encode(json.dumps(claims).encode(), key or app.private_key_pem, algorithm="RS256")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(gh: httpx.Client, now: float, installation: int = INSTALLATION) -> str:
    resp = gh.post(f"/app/installations/{installation}/access_tokens", headers=auth(sign(now)))
    assert resp.status_code == 201, resp.text
    token: str = resp.json()["token"]
    return token


# --- the App's endpoints ------------------------------------------------------------------------


def test_installations_are_listed_with_their_access_tokens_url() -> None:
    _, gh, clock = make()
    resp = gh.get("/app/installations", headers=auth(sign(clock.now)))
    assert resp.status_code == 200
    [inst] = resp.json()
    assert inst["id"] == INSTALLATION
    assert inst["app_id"] == APP.app_id
    assert inst["account"]["login"] == "acme"
    assert (inst["account"]["type"], inst["target_type"]) == ("Organization", "Organization")
    assert inst["access_tokens_url"] == f"{API}/app/installations/{INSTALLATION}/access_tokens"
    assert inst["repository_selection"] == "all"
    assert inst["permissions"] == {"metadata": "read", "contents": "read"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", inst["created_at"])
    assert "link" not in resp.headers


def test_installations_page_and_ghes_urls() -> None:
    app = make_test_app(installation_ids=(11, 12, 13), seed=7)
    base = "https://ghe.example.com/api/v3"
    _, gh, clock = make(app, base=base)
    resp = gh.get("/app/installations", params={"per_page": 2}, headers=auth(sign(clock.now, app=app)))
    assert [i["id"] for i in resp.json()] == [11, 12]
    assert 'rel="next"' in resp.headers["link"]
    assert f'<{base}/app/installations?per_page=2&page=2>; rel="last"' in resp.headers["link"]
    second = gh.get("/app/installations?per_page=2&page=2", headers=auth(sign(clock.now, app=app))).json()
    assert [i["id"] for i in second] == [13]
    assert second[0]["access_tokens_url"] == f"{base}/app/installations/13/access_tokens"


def test_a_token_is_issued_with_201_and_an_hour_of_life() -> None:
    sim, gh, clock = make()
    resp = gh.post(f"/app/installations/{INSTALLATION}/access_tokens", headers=auth(sign(clock.now)))
    assert resp.status_code == 201
    body = resp.json()
    assert re.fullmatch(r"ghs_[A-Za-z0-9]{36}", body["token"])
    assert body["expires_at"] == "2023-11-14T23:13:20Z"  # START + 3600 s
    assert body["permissions"] == {"metadata": "read", "contents": "read"}
    assert body["repository_selection"] == "all"
    assert "repositories" not in body  # only when the request names repository_ids (docs)
    assert sim.stats.installation_tokens_issued == 1
    assert new_token(gh, clock.now) != body["token"]


def test_the_client_id_and_a_string_app_id_are_issuers_too() -> None:
    _, gh, clock = make()
    for iss in (APP.client_id, str(APP.app_id)):
        assert gh.get("/app/installations", headers=auth(sign(clock.now, iss=iss))).status_code == 200


def test_the_real_clock_accepts_a_documented_jwt() -> None:
    sim = SimulatorApp(tiny_scenario(), github_app=APP)
    gh = httpx.Client(transport=SimulatorTransport(sim), base_url=API)
    token = new_token(gh, time.time())
    assert gh.get("/repos/acme/rocket", headers=auth(token)).status_code == 200


# --- refused JWTs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "status", "message"),
    [
        ({"iat": -700, "exp": -10}, 401, EXP_NOT_FUTURE),  # expired
        ({"iat": 30, "exp": 300}, 401, IAT_FUTURE),  # issued in GitHub's future
        ({"iat": "now", "exp": 300}, 401, IAT_INVALID),  # not a number
        ({"iat": -60, "exp": 700}, 401, EXP_TOO_FAR),  # more than 10 minutes ahead
        ({"iss": 999}, 404, NO_INTEGRATION),  # no such App
        ({"iss": "Iv23li0000000000000000"}, 404, NO_INTEGRATION),  # no such client id
        ({"iss": "my-app"}, 401, ISS_NOT_INTEGER),
        ({"key": make_test_app(seed=1).private_key_pem}, 401, NOT_DECODED),  # signed with another key
    ],
)
def test_bad_jwts_get_githubs_status_and_message(claims: dict[str, Any], status: int, message: str) -> None:
    sim, gh, clock = make()
    token = sign(clock.now, **claims)
    for resp in (
        gh.get("/app/installations", headers=auth(token)),
        gh.post(f"/app/installations/{INSTALLATION}/access_tokens", headers=auth(token)),
    ):
        assert resp.status_code == status
        assert resp.json() == {"message": message, "documentation_url": "https://docs.github.com/rest"}
    assert sim.stats.installation_tokens_issued == 0


def test_malformed_jwts_and_other_credentials_cannot_be_decoded() -> None:
    _, gh, clock = make()
    iss = str(APP.app_id)
    unsigned = jwt.encode({"iat": int(clock.now) - 60, "exp": int(clock.now) + 60, "iss": iss}, "s" * 32)
    no_exp = jwt.encode({"iat": int(clock.now) - 60, "iss": iss}, APP.private_key_pem, "RS256")
    assert gh.get("/app/installations", headers=auth(no_exp)).json()["message"] == EXP_NOT_FUTURE
    for credential in (unsigned, "eyJhbGciOi.bad.jwt", "ghp_personal"):
        resp = gh.get("/app/installations", headers=auth(credential))
        assert (resp.status_code, resp.json()["message"]) == (401, NOT_DECODED)
    assert gh.get("/app/installations").status_code == 401


def test_an_unknown_installation_is_not_found() -> None:
    _, gh, clock = make()
    resp = gh.post("/app/installations/1/access_tokens", headers=auth(sign(clock.now)))
    assert resp.status_code == 404
    assert resp.json()["message"] == "Not Found"


def test_a_jwt_opens_no_other_endpoint() -> None:
    _, gh, clock = make()
    token = sign(clock.now)
    resp = gh.get("/repos/acme/rocket", headers=auth(token))
    assert (resp.status_code, resp.json()["message"]) == (401, "Bad credentials")
    assert gh.post("/graphql", json={"query": COUNTERS}, headers=auth(token)).status_code == 401


# --- installation tokens ------------------------------------------------------------------------


def test_an_installation_token_works_on_rest_and_graphql() -> None:
    _, gh, clock = make()
    token = new_token(gh, clock.now)
    resp = gh.get("/repos/acme/rocket", headers=auth(token))
    assert resp.status_code == 200
    assert (resp.headers["x-ratelimit-limit"], resp.headers["x-ratelimit-used"]) == ("5000", "1")
    gql = gh.post("/graphql", json={"query": COUNTERS}, headers=auth(token))
    assert gql.status_code == 200
    assert gql.json()["data"]["repository"]["stargazerCount"] > 0


def test_an_expired_token_gets_bad_credentials_until_renewed() -> None:
    sim, gh, clock = make(installation_token_seconds=1)
    token = new_token(gh, clock.now)
    assert gh.get("/repos/acme/rocket", headers=auth(token)).status_code == 200
    clock.now += 1
    resp = gh.get("/repos/acme/rocket", headers=auth(token))
    assert resp.status_code == 401
    assert resp.json() == {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
    assert gh.post("/graphql", json={"query": COUNTERS}, headers=auth(token)).status_code == 401
    assert sim.stats.expired_token_refusals == 2
    renewed = new_token(gh, clock.now)
    assert gh.get("/repos/acme/rocket", headers=auth(renewed)).status_code == 200
    assert (sim.stats.installation_tokens_issued, sim.stats.expired_token_refusals) == (2, 2)


def test_revoked_and_unknown_installation_tokens_are_refused() -> None:
    sim, gh, clock = make()
    first, second = new_token(gh, clock.now), new_token(gh, clock.now)
    assert gh.delete("/installation/token", headers=auth(first)).status_code == 204
    sim.revoke(second)
    for token in (first, second, "ghs_" + "x" * 36):
        assert gh.get("/repos/acme/rocket", headers=auth(token)).status_code == 401
    assert sim.stats.expired_token_refusals == 0


def test_tokens_of_one_installation_share_its_budget() -> None:
    _, gh, clock = make(rate_limit=3)
    first = new_token(gh, clock.now)
    second = new_token(gh, clock.now)  # the JWT endpoints charged nothing to the installation
    assert gh.get("/repos/acme/rocket", headers=auth(first)).headers["x-ratelimit-remaining"] == "2"
    assert gh.get("/repos/acme/rocket", headers=auth(second)).headers["x-ratelimit-remaining"] == "1"
    assert gh.get("/repos/acme/rocket", headers=auth(first)).headers["x-ratelimit-remaining"] == "0"
    assert gh.get("/repos/acme/rocket", headers=auth(second)).status_code == 403
    assert gh.get("/app/installations", headers=auth(sign(clock.now))).status_code == 200  # the App's own


def test_installations_each_have_their_own_budget() -> None:
    app = make_test_app(installation_ids=(21, 22), seed=8)
    _, gh, clock = make(app, rate_limit=2)
    a = gh.post("/app/installations/21/access_tokens", headers=auth(sign(clock.now, app=app))).json()
    b = gh.post("/app/installations/22/access_tokens", headers=auth(sign(clock.now, app=app))).json()
    gh.get("/repos/acme/rocket", headers=auth(a["token"]))
    assert gh.get("/repos/acme/rocket", headers=auth(b["token"])).headers["x-ratelimit-remaining"] == "1"


def test_a_pool_may_hold_personal_and_installation_tokens() -> None:
    _, gh, clock = make(tokens=["pat-1"])
    token = new_token(gh, clock.now)
    assert gh.get("/repos/acme/rocket", headers=auth(token)).status_code == 200
    assert gh.get("/repos/acme/rocket", headers=auth("pat-1")).status_code == 200
    assert gh.get("/repos/acme/rocket", headers=auth("pat-2")).status_code == 401


def test_an_installation_on_selected_repositories_sees_only_them() -> None:
    app = dataclasses.replace(APP, installations=(SimInstallation(INSTALLATION, "acme", ("acme/rocket",)),))
    _, gh, clock = make(app)
    resp = gh.post(f"/app/installations/{INSTALLATION}/access_tokens", headers=auth(sign(clock.now)))
    assert resp.json()["repository_selection"] == "selected"
    token = resp.json()["token"]
    assert gh.get("/repos/acme/rocket", headers=auth(token)).status_code == 200
    assert gh.get("/repos/acme/attic", headers=auth(token)).status_code == 404


def test_secrets_stay_out_of_reprs() -> None:
    sim, gh, clock = make()
    token = new_token(gh, clock.now)
    gh.get("/repos/acme/rocket", headers=auth(token))
    assert token not in repr(sim.stats)
    assert "PRIVATE KEY" not in repr(APP)
    assert "installation_tokens_issued=1" in repr(sim.stats)


def test_make_test_app_is_cached_per_arguments() -> None:
    assert make_test_app() is APP
    other = make_test_app(seed=1)
    assert other.public_key_pem != APP.public_key_pem
    assert re.fullmatch(r"Iv23li[0-9a-f]{14}", other.client_id)


# --- suspended installations, revoked tokens, a clock that is off, repositories per installation ----------


def test_a_suspended_installation_is_listed_with_suspended_at_and_gets_no_token() -> None:
    app = dataclasses.replace(
        APP, installations=(SimInstallation(31, "acme"), SimInstallation(32, "acme2", suspended=True))
    )
    sim, gh, clock = make(app)
    listed = gh.get("/app/installations", headers=auth(sign(clock.now))).json()
    assert [(i["id"], i["suspended_at"] is not None) for i in listed] == [(31, False), (32, True)]
    assert listed[1]["suspended_by"]["login"] and listed[1]["account"]["login"] == "acme2"
    resp = gh.post("/app/installations/32/access_tokens", headers=auth(sign(clock.now)))
    assert (resp.status_code, resp.json()["message"]) == (403, "This installation has been suspended")
    assert new_token(gh, clock.now, 31)
    assert sim.stats.installation_tokens_issued == 1


def test_the_revocation_hook_revokes_every_token_after_n_requests() -> None:
    sim, gh, clock = make(revoke_installation_tokens_after=2)
    first, second = new_token(gh, clock.now), new_token(gh, clock.now)
    assert gh.get("/repos/acme/rocket", headers=auth(first)).status_code == 200
    assert gh.get("/repos/acme/rocket", headers=auth(second)).status_code == 200  # the 2nd: then revoked
    for token in (first, second):
        assert gh.get("/repos/acme/rocket", headers=auth(token)).status_code == 401
    renewed = new_token(gh, clock.now)
    assert gh.get("/repos/acme/rocket", headers=auth(renewed)).status_code == 200  # only once
    assert sim.app_auth.revoke_all(INSTALLATION) == 1
    assert gh.get("/repos/acme/rocket", headers=auth(renewed)).status_code == 401


@pytest.mark.parametrize(
    ("offset", "message"),
    [(-300, EXP_TOO_FAR), (700, EXP_NOT_FUTURE), (-100, IAT_FUTURE), (300, None), (-30, None)],
)
def test_jwts_are_judged_by_githubs_clock(offset: float, message: str | None) -> None:
    # The caller signs by its own clock (iat 60 s back, exp 8 minutes ahead); GitHub's runs `offset` ahead.
    _, gh, clock = make(server_clock_offset=offset)
    resp = gh.get("/app/installations", headers=auth(sign(clock.now, exp=480)))
    assert resp.json()["message"] == message if message else resp.status_code == 200
    served = email.utils.parsedate_to_datetime(resp.headers["date"]).timestamp()
    assert served == int(clock.now + offset)


def test_installations_list_and_see_only_their_repositories() -> None:
    app = dataclasses.replace(
        APP,
        installations=(
            SimInstallation(41, "acme", ("acme/rocket", "acme/huge")),
            SimInstallation(42, "acme"),
        ),
    )
    _, gh, clock = make(app)
    selected, everything = new_token(gh, clock.now, 41), new_token(gh, clock.now, 42)
    body = gh.get("/installation/repositories", headers=auth(selected)).json()
    assert (body["total_count"], body["repository_selection"]) == (2, "selected")
    assert [r["full_name"] for r in body["repositories"]] == ["acme/rocket", "acme/huge"]
    paged = gh.get("/installation/repositories?per_page=2", headers=auth(everything))
    assert paged.json()["repository_selection"] == "all" and paged.json()["total_count"] == 4
    assert 'rel="next"' in paged.headers["link"]
    assert gh.get("/repos/acme/attic", headers=auth(selected)).status_code == 404
    query = 'query { a: repository(owner: "acme", name: "rocket") { stargazerCount } '
    query += 'b: repository(owner: "acme", name: "attic") { stargazerCount } }'
    answer = gh.post("/graphql", json={"query": query}, headers=auth(selected)).json()
    assert answer["data"]["a"]["stargazerCount"] > 0 and answer["data"]["b"] is None
    assert [e["type"] for e in answer["errors"]] == ["NOT_FOUND"]
    again = gh.post("/graphql", json={"query": query}, headers=auth(everything)).json()
    assert again["data"]["b"]["stargazerCount"] >= 0 and "errors" not in again
