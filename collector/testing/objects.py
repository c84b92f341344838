"""REST body shapes, key for key like GitHub's (octokit/fixtures get-repository, github3.py forks).

`api` is the API base the request came in on (e.g. `http://127.0.0.1:8765` or `.../api/v3`), so every
API URL in a body points back at the same server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collector.testing.accounts import Account, owner_id
from collector.testing.model import SimCommit, SimFork
from collector.testing.views import RepoView, iso

HTML = "https://github.com"


def user_object(api: str, login: str, user_id: int, *, kind: str = "User") -> dict[str, Any]:
    """A simple user (or organization) object, as embedded in repository, contributor and star lists."""
    u = f"{api}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_sim{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{HTML}/{login}",
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": kind,
        "site_admin": False,
    }


def _repo_urls(api: str, full_name: str) -> dict[str, Any]:
    r = f"{api}/repos/{full_name}"
    return {
        "html_url": f"{HTML}/{full_name}",
        "url": r,
        "forks_url": f"{r}/forks",
        "keys_url": f"{r}/keys{{/key_id}}",
        "collaborators_url": f"{r}/collaborators{{/collaborator}}",
        "teams_url": f"{r}/teams",
        "hooks_url": f"{r}/hooks",
        "issue_events_url": f"{r}/issues/events{{/number}}",
        "events_url": f"{r}/events",
        "assignees_url": f"{r}/assignees{{/user}}",
        "branches_url": f"{r}/branches{{/branch}}",
        "tags_url": f"{r}/tags",
        "blobs_url": f"{r}/git/blobs{{/sha}}",
        "git_tags_url": f"{r}/git/tags{{/sha}}",
        "git_refs_url": f"{r}/git/refs{{/sha}}",
        "trees_url": f"{r}/git/trees{{/sha}}",
        "statuses_url": f"{r}/statuses/{{sha}}",
        "languages_url": f"{r}/languages",
        "stargazers_url": f"{r}/stargazers",
        "contributors_url": f"{r}/contributors",
        "subscribers_url": f"{r}/subscribers",
        "subscription_url": f"{r}/subscription",
        "commits_url": f"{r}/commits{{/sha}}",
        "git_commits_url": f"{r}/git/commits{{/sha}}",
        "comments_url": f"{r}/comments{{/number}}",
        "issue_comment_url": f"{r}/issues/comments{{/number}}",
        "contents_url": f"{r}/contents/{{+path}}",
        "compare_url": f"{r}/compare/{{base}}...{{head}}",
        "merges_url": f"{r}/merges",
        "archive_url": f"{r}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{r}/downloads",
        "issues_url": f"{r}/issues{{/number}}",
        "pulls_url": f"{r}/pulls{{/number}}",
        "milestones_url": f"{r}/milestones{{/number}}",
        "notifications_url": f"{r}/notifications{{?since,all,participating}}",
        "labels_url": f"{r}/labels{{/name}}",
        "releases_url": f"{r}/releases{{/id}}",
        "deployments_url": f"{r}/deployments",
    }


def _clone_urls(full_name: str) -> dict[str, str]:
    return {
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"{HTML}/{full_name}.git",
        "svn_url": f"{HTML}/{full_name}",
    }


def _caller_keys() -> dict[str, Any]:
    """What the authenticated recording adds: the caller's permissions and the merge settings."""
    return {
        "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
        "temp_clone_token": "",
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_rebase_merge": True,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "allow_update_branch": False,
        "use_squash_pr_title_as_default": False,
    }


def _repository_core(api: str, view: RepoView, owner: Account) -> dict[str, Any]:
    """The keys every repository object has, wherever it appears (full, listed, searched)."""
    repo = view.repo
    created, pushed = iso(repo.created_at), iso(view.pushed_at)
    # forks_count counts the whole fork network, like GraphQL forkCount; for a root repository it equals
    # network_count (recordings). /forks lists only the direct ones.
    stars, forks = view.stars, len(view.network)
    return {
        "id": repo.github_id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": False,
        "owner": user_object(api, owner.login, owner.github_id, kind=owner.kind),
        "description": repo.description,
        "fork": repo.fork_parent is not None,
        **_repo_urls(api, repo.full_name),
        "created_at": created,
        "updated_at": pushed,
        "pushed_at": pushed,
        **_clone_urls(repo.full_name),
        "homepage": None,
        "size": len(view.commits),
        "stargazers_count": stars,
        "watchers_count": stars,  # GitHub's legacy quirk: "watchers" here means stargazers
        "language": repo.language,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "forks_count": forks,
        "mirror_url": None,
        "archived": repo.archived,
        "disabled": False,
        "open_issues_count": repo.open_issues,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": list(repo.topics),
        "visibility": "public",
        "forks": forks,
        "open_issues": repo.open_issues,
        "watchers": stars,
        "default_branch": repo.default_branch,
    }


@dataclass(frozen=True)
class Lineage:
    """A fork's family, for its full object: the repository it was forked from and its network's root."""

    parent: dict[str, Any]
    source: dict[str, Any]
    network_count: int


def repository_object(
    api: str, view: RepoView, owner: Account, *, authenticated: bool, lineage: Lineage | None = None
) -> dict[str, Any]:
    """`GET /repos/{o}/{r}`: the full repository object, same keys as the 2022 octokit recording.

    `organization` only for an organization's repository; `parent` and `source` only for a fork.
    """
    body = _repository_core(api, view, owner)
    if authenticated:
        body.update(_caller_keys())
    if owner.is_org:
        body["organization"] = body["owner"]
    if lineage is not None:
        body["parent"], body["source"] = lineage.parent, lineage.source
    body["network_count"] = lineage.network_count if lineage is not None else body["forks_count"]
    body["subscribers_count"] = view.repo.watchers
    return body


def repository_part(api: str, view: RepoView, owner: Account) -> dict[str, Any]:
    """A repository as embedded in another (a fork's `parent` and `source`)."""
    return _repository_core(api, view, owner)


def repository_item(api: str, view: RepoView, owner: Account, *, authenticated: bool) -> dict[str, Any]:
    """One item of a repository list (`/orgs/{org}/repos`, `/users/{u}/repos`, `/forks`)."""
    body = _repository_core(api, view, owner)
    if authenticated:
        body["permissions"] = _caller_keys()["permissions"]
    return body


def search_item(api: str, view: RepoView, owner: Account, score: float) -> dict[str, Any]:
    """One item of `/search/repositories`: the listed keys plus the best-match `score`."""
    return {**_repository_core(api, view, owner), "score": score}


def fork_object(api: str, view: RepoView, fork: SimFork) -> dict[str, Any]:
    """One item of `/forks`: a repository object for the fork (github3.py recording's keys)."""
    repo = view.repo
    full = f"{fork.owner_login}/{repo.name}"
    created = iso(fork.created_at)
    below = view.descendants(fork.github_id)  # the fork's own forks_count: its part of the network
    return {
        "id": fork.github_id,
        "node_id": f"R_sim{fork.github_id}",
        "name": repo.name,
        "full_name": full,
        "owner": user_object(api, fork.owner_login, owner_id(fork.owner_login)),
        "private": False,
        "description": repo.description,
        "fork": True,
        **_repo_urls(api, full),
        "created_at": created,
        "updated_at": created,
        "pushed_at": created,
        **_clone_urls(full),
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": repo.language,
        "has_issues": False,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "forks_count": below,
        "mirror_url": None,
        "archived": False,
        "open_issues_count": 0,
        "license": None,
        "forks": below,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": repo.default_branch,
    }


def commit_object(api: str, view: RepoView, commit: SimCommit, parent: SimCommit | None) -> dict[str, Any]:
    """One item of `/commits`: `commit.author` is the git identity, `author` the linked account or null."""
    r = f"{api}/repos/{view.repo.full_name}"
    who = {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.authored_at)}
    account = (
        user_object(api, commit.author_login or f"user{commit.author_user_id}", commit.author_user_id)
        if commit.author_user_id is not None
        else None
    )
    parents = (
        [{"sha": parent.sha, "url": f"{r}/commits/{parent.sha}", "html_url": f"{HTML}/commit/{parent.sha}"}]
        if parent
        else []
    )
    return {
        "sha": commit.sha,
        "node_id": f"C_sim{commit.sha[:20]}",
        "commit": {
            "author": who,
            "committer": dict(who),
            "message": f"Commit {commit.sha[:7]}",
            "tree": {"sha": commit.sha[::-1], "url": f"{r}/git/trees/{commit.sha[::-1]}"},
            "url": f"{r}/git/commits/{commit.sha}",
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        },
        "url": f"{r}/commits/{commit.sha}",
        "html_url": f"{HTML}/{view.repo.full_name}/commit/{commit.sha}",
        "comments_url": f"{r}/commits/{commit.sha}/comments",
        "author": account,
        "committer": account,
        "parents": parents,
    }
