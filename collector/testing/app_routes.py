"""The endpoints an App reaches with its JWT: `GET /app`, `GET /app/installations[/{id}]` and
`POST /app/installations/{id}/access_tokens` (docs: rest/apps/apps). The caller has checked the JWT."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from collector.testing.app_auth import (
    PERMISSIONS,
    SUSPENDED,
    SUSPENDED_AT,
    AppAuth,
    SimApp,
    SimInstallation,
)
from collector.testing.objects import repository_item, user_object
from collector.testing.paging import bounded_int, page_links
from collector.testing.rest import DOCS, Reply, RestApi, RestRequest
from collector.testing.views import iso

APP_DOCS = f"{DOCS}/apps/apps"
INSTALLED_AT = "2024-05-01T09:30:00Z"  # when the simulated App was installed everywhere
ACCOUNT_IDS = 71_000_000  # account ids of installations: this plus the installation's position


def app_template(path: str) -> str:
    """The stats template of a path under /app (`/app/installations/{installation_id}/...`)."""
    parts = path.split("/")
    if len(parts) > 3 and parts[2] == "installations" and parts[3]:
        parts[3] = "{installation_id}"
    return "/".join(parts)


def route_installation(req: RestRequest, auth: AppAuth, key: str, rest: RestApi) -> Reply | None:
    """What only an installation token gets: revoking itself, and 404 for repositories not granted to it."""
    if not key.startswith("installation:"):
        return None
    if req.path == "/installation/token" and req.method == "DELETE":
        # "Revoke an installation access token": 204 (docs: rest/apps/installations).
        auth.revoke(req.token or "")
        return Reply(204, None, "/installation/token")
    if req.path == "/installation/repositories" and req.method in ("GET", "HEAD"):
        return _installation_repositories(req, auth, key, rest)
    parts = [p for p in req.path.split("/") if p]
    repo = None
    if len(parts) >= 3 and parts[0] == "repos":
        repo, _ = rest.find(parts[1], parts[2])
    elif len(parts) >= 2 and parts[0] == "repositories" and parts[1].isdigit():
        repo = rest.by_id.get(int(parts[1]))
    if repo is not None and not auth.covers(key, repo.full_name):
        return Reply(404, {"message": "Not Found", "documentation_url": DOCS}, req.path)
    return None


def _installation_repositories(req: RestRequest, auth: AppAuth, key: str, rest: RestApi) -> Reply:
    """ "List repositories accessible to the app installation" (docs: rest/apps/installations):
    `{total_count, repository_selection, repositories}`, 30 a page by default, at most 100."""
    found = auth.installation(int(key.removeprefix("installation:")))
    selected = auth.visible(key)
    repos = [
        r
        for r in rest.scenario.repos
        if r.status == "ok"
        and (
            r.full_name.lower() in selected
            if selected is not None
            else found is None or r.owner.lower() == found.account.lower()
        )
    ]
    per_page = bounded_int(req.param("per_page"), 30, 1, 100)
    page = bounded_int(req.param("page"), 1, 1, 1_000_000)
    last = max(1, -(-len(repos) // per_page))
    shown = repos[(page - 1) * per_page : page * per_page]
    owner = rest.accounts.owner
    items = [repository_item(req.api, rest.view(r), owner(r.owner), authenticated=True) for r in shown]
    body = {
        "total_count": len(repos),
        "repository_selection": "all" if selected is None else "selected",
        "repositories": items,
    }
    links = page_links(f"{req.api}/installation/repositories", req.query, page, last)
    return Reply(200, body, "/installation/repositories", links)


def _not_found(anchor: str) -> dict[str, str]:
    return {"message": "Not Found", "documentation_url": f"{APP_DOCS}#{anchor}"}


def installation_object(api: str, app: SimApp, inst: SimInstallation) -> dict[str, Any]:
    """An installation as `GET /app/installations` lists it."""
    position = app.installations.index(inst)
    account = user_object(api, inst.account, ACCOUNT_IDS + position, kind="Organization")
    return {
        "id": inst.id,
        "client_id": app.client_id,
        "account": account,
        "repository_selection": "all" if inst.repos is None else "selected",
        "access_tokens_url": f"{api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"https://github.com/organizations/{inst.account}/settings/installations/{inst.id}",
        "app_id": app.app_id,
        "app_slug": f"sim-app-{app.app_id}",
        "target_id": account["id"],
        "target_type": "Organization",
        "permissions": dict(PERMISSIONS),
        "events": [],
        "created_at": INSTALLED_AT,
        "updated_at": INSTALLED_AT,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": _suspender(api) if inst.suspended else None,
        "suspended_at": SUSPENDED_AT if inst.suspended else None,
    }


def _suspender(api: str) -> dict[str, Any]:
    return user_object(api, "app-owner", ACCOUNT_IDS - 1)


def _app_object(api: str, app: SimApp) -> dict[str, Any]:
    slug = f"sim-app-{app.app_id}"
    owner = user_object(api, app.installations[0].account if app.installations else "acme", ACCOUNT_IDS)
    return {
        "id": app.app_id,
        "slug": slug,
        "node_id": f"A_sim{app.app_id}",
        "client_id": app.client_id,
        "owner": owner,
        "name": f"Sim App {app.app_id}",
        "description": "The simulator's GitHub App",
        "external_url": "https://example.com",
        "html_url": f"https://github.com/apps/{slug}",
        "created_at": INSTALLED_AT,
        "updated_at": INSTALLED_AT,
        "permissions": dict(PERMISSIONS),
        "events": [],
        "installations_count": len(app.installations),
    }


def _listing(req: RestRequest, app: SimApp) -> Reply:
    per_page = bounded_int(req.param("per_page"), 30, 1, 100)
    page = bounded_int(req.param("page"), 1, 1, 1_000_000)
    items = app.installations
    last = max(1, -(-len(items) // per_page))
    shown = items[(page - 1) * per_page : page * per_page]
    headers: dict[str, str] = {}
    if last > 1 or page > 1:
        kept = [(k, v) for k, v in req.query if k != "page"]

        def link(n: int) -> str:
            return f"{req.api}/app/installations?{urlencode([*kept, ('page', str(n))])}"

        rels = []
        if page > 1:
            rels.append(f'<{link(min(page - 1, last))}>; rel="prev"')
        if page < last:
            rels += [f'<{link(page + 1)}>; rel="next"', f'<{link(last)}>; rel="last"']
        if page > 1:
            rels.append(f'<{link(1)}>; rel="first"')
        headers["link"] = ", ".join(rels)
    body = [installation_object(req.api, app, i) for i in shown]
    return Reply(200, body, "/app/installations", headers)


def route_app(req: RestRequest, auth: AppAuth, now: float) -> Reply:
    """Answer a request under /app that carried a valid JWT for `auth.app`."""
    app = auth.app
    parts = [p for p in req.path.split("/") if p]
    if app is None or not parts or parts[0] != "app":
        return Reply(404, {"message": "Not Found", "documentation_url": DOCS}, req.path)
    if parts == ["app"] and req.method in ("GET", "HEAD"):
        return Reply(200, _app_object(req.api, app), "/app")
    if parts == ["app", "installations"] and req.method in ("GET", "HEAD"):
        return _listing(req, app)
    if len(parts) >= 3 and parts[1] == "installations":
        one = "/app/installations/{installation_id}"
        inst = auth.installation(int(parts[2])) if parts[2].isdigit() else None
        if len(parts) == 3 and req.method in ("GET", "HEAD"):
            if inst is None:
                return Reply(404, _not_found("get-an-installation-for-the-authenticated-app"), one)
            return Reply(200, installation_object(req.api, app, inst), one)
        if parts[3:] == ["access_tokens"] and req.method == "POST":
            template = one + "/access_tokens"
            if inst is None:
                return Reply(404, _not_found("create-an-installation-access-token-for-an-app"), template)
            if inst.suspended:
                # The 403 clients recorded for a suspended installation (octokit/octokit.rb #1307).
                doc = "https://docs.github.com/rest/reference/apps#create-an-installation-access-token-for-an-app"
                return Reply(403, {"message": SUSPENDED, "documentation_url": doc}, template)
            issued = auth.issue(inst.id, now)
            body = {
                "token": issued.token,
                "expires_at": iso(datetime.fromtimestamp(issued.expires_at, UTC)),
                "permissions": dict(PERMISSIONS),
                "repository_selection": "all" if inst.repos is None else "selected",
            }
            return Reply(201, body, template)
    return Reply(404, {"message": "Not Found", "documentation_url": DOCS}, req.path)
