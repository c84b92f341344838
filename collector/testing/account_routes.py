"""Accounts and their repositories: `GET /users/{username}[/repos]` and `GET /orgs/{org}[/repos]`.

As GitHub does (docs: rest/repos/repos "List organization repositories", "List repositories for a user";
rest/users/users; rest/orgs/orgs): `/orgs/...` answers 404 for a user account, `/users/...` serves users
and organizations alike, and the Link header points at `/organizations/{id}/repos` or `/user/{id}/repos`
(as api.github.com's do), which are served too, like `/organizations/{id}` and `/user/{id}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from collector.testing.accounts import Account
from collector.testing.objects import HTML, user_object
from collector.testing.paging import bounded_int, page_links
from collector.testing.repo_index import Entry
from collector.testing.rest import DOCS, Reply, RestApi, RestRequest
from collector.testing.views import iso

_SORTS: dict[str, Callable[[Entry], Any]] = {
    "created": lambda e: e.created_at,
    "updated": lambda e: e.pushed_at,  # updated_at is pushed_at in the simulator
    "pushed": lambda e: e.pushed_at,
    "full_name": lambda e: e.full_name,
}
# Which repositories each `type` lists. Every simulated repository is public and the caller is a member
# of nothing, so `private` and `member` list none.
_ORG_TYPES: dict[str, Callable[[Entry], bool]] = {
    "all": lambda e: True,
    "public": lambda e: True,
    "sources": lambda e: not e.fork,
    "forks": lambda e: e.fork,
    "private": lambda e: False,
    "member": lambda e: False,
}
_USER_TYPES: dict[str, Callable[[Entry], bool]] = {
    "all": lambda e: True,
    "owner": lambda e: True,
    "member": lambda e: False,
}
_NOT_FOUND_DOCS = {
    "/users/{username}": "users/users#get-a-user",
    "/users/{username}/repos": "repos/repos#list-repositories-for-a-user",
    "/orgs/{org}": "orgs/orgs#get-an-organization",
    "/orgs/{org}/repos": "repos/repos#list-organization-repositories",
}


def account_object(api: str, account: Account, public_repos: int) -> dict[str, Any]:
    """`GET /users/{username}`: the public profile of a user or an organization."""
    created = iso(account.created_at)
    return {
        **user_object(api, account.login, account.github_id, kind=account.kind),
        "user_view_type": "public",
        "name": None,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": public_repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created,
        "updated_at": created,
    }


def organization_object(api: str, account: Account, public_repos: int) -> dict[str, Any]:
    """`GET /orgs/{org}`: an organization's public profile."""
    o = f"{api}/orgs/{account.login}"
    created = iso(account.created_at)
    return {
        "login": account.login,
        "id": account.github_id,
        "node_id": f"O_sim{account.github_id}",
        "url": o,
        "repos_url": f"{o}/repos",
        "events_url": f"{o}/events",
        "hooks_url": f"{o}/hooks",
        "issues_url": f"{o}/issues",
        "members_url": f"{o}/members{{/member}}",
        "public_members_url": f"{o}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{account.github_id}?v=4",
        "description": None,
        "name": account.login,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "twitter_username": None,
        "is_verified": False,
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": public_repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": f"{HTML}/{account.login}",
        "created_at": created,
        "updated_at": created,
        "archived_at": None,
        "type": "Organization",
    }


class AccountRoutes:
    """The account endpoints over the scenario's accounts and visible repositories."""

    def __init__(self, rest: RestApi) -> None:
        self.rest = rest

    def route(self, req: RestRequest) -> Reply | None:
        """The answer for an account path; None for any other path."""
        parts = [p for p in req.path.split("/") if p]
        if not 2 <= len(parts) <= 3 or (len(parts) == 3 and parts[2] != "repos"):
            return None
        scope, name = parts[0], parts[1]
        listing = len(parts) == 3
        if scope in ("users", "orgs"):
            account = self.rest.accounts.get(name)
            template = "/users/{username}" if scope == "users" else "/orgs/{org}"
        elif scope in ("user", "organizations") and name.isdigit():
            account = self.rest.accounts.by_id(int(name))
            template = "/user/{account_id}" if scope == "user" else "/organizations/{organization_id}"
        else:
            return None
        template += "/repos" if listing else ""
        org_only = scope in ("orgs", "organizations")
        if account is None or (org_only and not account.is_org):
            documented = ("/orgs/{org}" if org_only else "/users/{username}") + ("/repos" if listing else "")
            body = {"message": "Not Found", "documentation_url": f"{DOCS}/{_NOT_FOUND_DOCS[documented]}"}
            return Reply(404, body, template)
        if req.method not in ("GET", "HEAD"):
            return Reply(404, {"message": "Not Found", "documentation_url": DOCS}, template)
        owned = [e for e in self.rest.entries() if e.owner == account.login.lower()]
        if listing:
            return self._repos(req, account, owned, org_only, template)
        if org_only:
            return Reply(200, organization_object(req.api, account, len(owned)), template)
        return Reply(200, account_object(req.api, account, len(owned)), template)

    def _repos(
        self, req: RestRequest, account: Account, owned: list[Entry], org_only: bool, template: str
    ) -> Reply:
        """One page of the account's repositories, by `type`, `sort` and `direction`."""
        types = _ORG_TYPES if org_only else _USER_TYPES
        # Unknown values fall back to the defaults (all for organizations, owner for users).
        wanted = types.get(req.param("type") or "", types["all" if org_only else "owner"])
        sort = req.param("sort") or ("created" if org_only else "full_name")
        sort = sort if sort in _SORTS else ("created" if org_only else "full_name")
        direction = req.param("direction") or ("asc" if sort == "full_name" else "desc")
        descending = direction.lower() == "desc"
        listed = sorted((e for e in owned if wanted(e)), key=lambda e: e.repo.github_id, reverse=descending)
        listed.sort(key=_SORTS[sort], reverse=descending)
        per_page = bounded_int(req.param("per_page"), 30, 1, 100)
        page = bounded_int(req.param("page"), 1, 1, 1_000_000)
        last = max(1, math.ceil(len(listed) / per_page))
        scope = "organizations" if org_only else "user"
        headers = page_links(f"{req.api}/{scope}/{account.github_id}/repos", req.query, page, last)
        shown = listed[(page - 1) * per_page : page * per_page]
        body = [self.rest.item(req, e.repo) for e in shown]
        return Reply(200, body, template, headers)
