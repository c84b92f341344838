"""The simulator's REST endpoints: repository, contributors, stats, stars, forks, commits, releases.

Status codes and bodies follow GitHub's documentation and the recordings in ../shared/github-fixtures:
301/307 for former names (Location `/repositories/{id}/...`), 404 and 451 bodies, Link pagination
(`prev, next, last, first` as in the 2022 octokit recording, pointing at `/repositories/{id}/...`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from collector.testing.accounts import Accounts
from collector.testing.downloads_contents import contents_answer
from collector.testing.model import Scenario, SimFork, SimRepo
from collector.testing.objects import (
    Lineage,
    commit_object,
    fork_object,
    repository_item,
    repository_object,
    repository_part,
    user_object,
)
from collector.testing.paging import bounded_int, page_links
from collector.testing.releases_sim import release_objects
from collector.testing.repo_index import Entry, build_entries
from collector.testing.views import RepoView, iso, page_of, standing_stars, unix_day

DOCS = "https://docs.github.com/rest"
NOT_FOUND = {"message": "Not Found", "documentation_url": DOCS}
TOO_LARGE = (
    "The history or contributor list is too large to list contributors for this repository via the API."
)
PAGINATION_LIMITED = (
    "In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last "
    "link relation in the Link response header to see how far back you can traverse."
)
STAR_HISTORY_MAX_PAGES = 100  # third-party reports (facts sheet §11)
STARGAZERS_MAX_PAGES = 400  # 400 x 100 = 40,000 stars (facts sheet §1)


@dataclass
class RestRequest:
    """What a REST handler needs from the request; `api` is the base URL it came in on."""

    method: str
    path: str  # without the /api/v3 prefix
    query: list[tuple[str, str]]
    api: str
    accept: str = ""
    token: str | None = None

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)


@dataclass
class Reply:
    """A handler's answer before the common headers are added. `body` None means no body."""

    status: int
    body: Any = None
    template: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    weak_etag: bool = False
    cacheable: bool = True  # False: no ETag, so no 304 either (GitHub's search answers carry none)


def _stamp(d: str | None) -> datetime | None:
    if not d:
        return None
    try:
        return datetime.fromisoformat(d.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class RestApi:
    """Routes REST requests against one scenario; views are computed once per repository."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        ghes_legacy: bool = False,
        collaborator_tokens: Sequence[str] = (),
        stargazers_policy: str = "forbidden",
        stats_compute_requests: int = 1,
        linked_email_cap: int = 500,
        star_history_timezone: str = "UTC",
    ) -> None:
        self.scenario = scenario
        self.today = scenario.today  # moved by set_today; the scenario itself is never mutated
        self.ghes_legacy = ghes_legacy
        self.stats_compute_requests = stats_compute_requests
        self.linked_email_cap = linked_email_cap
        self.star_history_timezone = star_history_timezone
        self.collaborator_tokens = set(collaborator_tokens)
        self.stargazers_policy = stargazers_policy  # "forbidden" (403) or "empty" (200 []), 2026 change
        self.by_name = {r.full_name.lower(): r for r in scenario.repos}
        self.by_id = {r.github_id: r for r in scenario.repos}
        self.former: dict[str, SimRepo] = {}
        for r in scenario.repos:
            for old in r.former_names:
                self.former.setdefault(old.lower(), r)
        self.accounts = Accounts(scenario)
        self._views: dict[int, RepoView] = {}
        self._withdrawn: dict[int, Counter[date]] = {}
        self._computing: Counter[tuple[int, str, str]] = Counter()  # 202s served per (repo, stats, head)
        self._entries: list[Entry] | None = None

    def view(self, repo: SimRepo) -> RepoView:
        """The repository's views as of today (cached until today moves or stars are withdrawn)."""
        found = self._views.get(repo.github_id)
        if found is None:
            found = self._views[repo.github_id] = RepoView(
                repo,
                self.today,
                withdrawn=self._withdrawn.get(repo.github_id),
                linked_email_cap=self.linked_email_cap,
            )
        return found

    def set_today(self, day: date) -> None:
        """Move today (e.g. so that a new week begins between two passes); every view is recomputed."""
        self.today = day
        self._views.clear()
        self._entries = None

    def withdraw_stars(self, full_name: str, given_on: date, count: int) -> None:
        """Withdraw `count` of the stars given on `given_on`: that old day shrinks, every count drops."""
        repo = self.by_name.get(full_name.lower())
        if repo is None:
            raise KeyError(full_name)
        already = self._withdrawn.setdefault(repo.github_id, Counter())
        standing = standing_stars(repo.star_days, self.today, already).get(given_on, 0)
        if not 0 <= count <= standing:
            raise ValueError(f"{full_name} has {standing} standing stars given on {given_on}, not {count}")
        already[given_on] += count
        self._views.pop(repo.github_id, None)
        self._entries = None

    def set_topics(self, full_name: str, topics: tuple[str, ...]) -> None:
        """Give a repository new topics (its owner edited them): searches see the change at once."""
        repo = self.by_name.get(full_name.lower())
        if repo is None:
            raise KeyError(full_name)
        repo.topics = tuple(t.lower() for t in topics)
        self._views.pop(repo.github_id, None)
        self._entries = None

    def entries(self) -> list[Entry]:
        """Every repository visible today, as search and the listings see it (cached like the views)."""
        if self._entries is None:
            self._entries = build_entries(self.scenario.repos, self.today, self._withdrawn)
        return self._entries

    def item(self, req: RestRequest, repo: SimRepo) -> dict[str, Any]:
        """The repository as a list shows it."""
        owner = self.accounts.owner(repo.owner)
        return repository_item(req.api, self.view(repo), owner, authenticated=req.token is not None)

    def _lineage(self, req: RestRequest, repo: SimRepo) -> Lineage | None:
        """A fork's parent and source (the root of its network), or None for a repository that is no fork."""
        parent = self.by_id.get(repo.fork_parent) if repo.fork_parent is not None else None
        if parent is None:
            return None
        source = parent
        while source.fork_parent is not None and source.fork_parent in self.by_id:
            source = self.by_id[source.fork_parent]
        parts = [
            repository_part(req.api, self.view(r), self.accounts.owner(r.owner)) for r in (parent, source)
        ]
        return Lineage(parts[0], parts[1], len(self.view(source).network))

    def find(self, owner: str, name: str) -> tuple[SimRepo | None, bool]:
        """(repository, moved): current names win over former ones."""
        key = f"{owner}/{name}".lower()
        if key in self.by_name:
            return self.by_name[key], False
        found = self.former.get(key)
        return found, found is not None

    def route(self, req: RestRequest) -> Reply:
        """Answer one REST request (rate limits and conditional requests are the app's job)."""
        parts = [p for p in req.path.split("/") if p]
        if len(parts) >= 3 and parts[0] == "repos":
            repo, moved = self.find(parts[1], parts[2])
            rest = "/" + "/".join(parts[3:]) if len(parts) > 3 else ""
            template = "/repos/{owner}/{repo}" + rest
        elif len(parts) >= 2 and parts[0] == "repositories" and parts[1].isdigit():
            repo, moved = self.by_id.get(int(parts[1])), False
            rest = "/" + "/".join(parts[2:]) if len(parts) > 2 else ""
            template = "/repositories/{id}" + rest
        else:
            return Reply(404, NOT_FOUND, template=req.path)
        if repo is None or repo.status == "deleted":
            return Reply(
                404, {**NOT_FOUND, "documentation_url": f"{DOCS}/repos/repos#get-a-repository"}, template
            )
        if moved:
            # GitHub: 301 for GET/HEAD, 307 for everything else, Location on /repositories/{id}.
            target = f"{req.api}/repositories/{repo.github_id}{rest}"
            if req.query:
                target += "?" + urlencode(req.query)
            body: dict[str, Any] = {
                "message": "Moved Permanently",
                "url": target,
                "documentation_url": "https://docs.github.com/v3/#http-redirects",
            }
            status = 301 if req.method in ("GET", "HEAD") else 307
            return Reply(status, body, template, {"location": target})
        if repo.status == "blocked":
            notice = repo.full_name.replace("/", "-")
            body = {
                "message": "Repository access blocked",
                "block": {
                    "reason": "dmca",
                    "created_at": iso(repo.created_at),
                    "html_url": f"https://github.com/github/dmca/blob/master/{notice}.md",
                },
            }
            return Reply(451, body, template)
        if req.method not in ("GET", "HEAD"):
            return Reply(404, NOT_FOUND, template)
        handler = _ROUTES.get(rest)
        if rest.startswith("/contents/"):  # GET /repos/{owner}/{repo}/contents/{path} (issue 21)
            return Reply(*contents_answer(req.api, repo, rest, template.split("/contents/")[0]))
        if handler is None:
            return Reply(404, NOT_FOUND, template)
        reply = handler(self, req, repo)
        reply.template = template
        return reply

    # --- pagination -------------------------------------------------------------------------------

    def paginate(
        self, req: RestRequest, repo: SimRepo, rest: str, items: Sequence[Any], *, default: int, maximum: int
    ) -> tuple[Sequence[Any], dict[str, str], int]:
        """The requested page and its Link header (absent when everything fits on one page)."""
        per_page = bounded_int(req.param("per_page"), default, 1, maximum)
        page = bounded_int(req.param("page"), 1, 1, 1_000_000)
        last = max(1, -(-len(items) // per_page))
        if last == 1 and page == 1:
            return items, {}, page
        base = f"{req.api}/repositories/{repo.github_id}{rest}"
        return page_of(items, page, per_page), page_links(base, req.query, page, last), page

    # --- endpoints --------------------------------------------------------------------------------

    def repository(self, req: RestRequest, repo: SimRepo) -> Reply:
        owner = self.accounts.owner(repo.owner)
        body = repository_object(
            req.api,
            self.view(repo),
            owner,
            authenticated=req.token is not None,
            lineage=self._lineage(req, repo),
        )
        return Reply(200, body)

    def contributors(self, req: RestRequest, repo: SimRepo) -> Reply:
        if repo.contributors_too_large:
            return Reply(403, {"message": TOO_LARGE, "documentation_url": f"{DOCS}/repos/repos"})
        view = self.view(repo)
        if not view.commits:
            return Reply(204)
        anon = (req.param("anon") or "").lower() in ("1", "true")
        people = view.contributors(anon=anon)
        shown, headers, _ = self.paginate(req, repo, "/contributors", people, default=30, maximum=100)
        body: list[dict[str, Any]] = []
        for p in shown:
            if p.user_id is None:
                body.append(
                    {"email": p.email, "name": p.name, "type": "Anonymous", "contributions": p.contributions}
                )
            else:
                u = user_object(req.api, p.login or f"user{p.user_id}", p.user_id)
                body.append({**u, "contributions": p.contributions})
        return Reply(200, body, headers=headers, weak_etag=True)

    def commit_activity(self, req: RestRequest, repo: SimRepo) -> Reply:
        view = self.view(repo)
        if not view.commits:
            return Reply(204)
        key = (repo.github_id, "commit_activity", view.commits[0].sha)
        if self._computing[key] < self.stats_compute_requests:
            # GitHub starts a background job and answers 202 {} until it is done (github3.py recording);
            # the result is cached per default-branch head (D-STAT).
            self._computing[key] += 1
            return Reply(202, {})
        body = [{"total": sum(days), "week": unix_day(w), "days": days} for w, days in view.commit_weeks()]
        return Reply(200, body, weak_etag=True)

    def participation(self, req: RestRequest, repo: SimRepo) -> Reply:
        every, owner = self.view(repo).participation()
        return Reply(200, {"all": every, "owner": owner}, weak_etag=True)

    def star_history(self, req: RestRequest, repo: SimRepo) -> Reply:
        if self.ghes_legacy:
            return Reply(404, NOT_FOUND)  # older GHES has no such endpoint
        weeks = self.view(repo).star_weeks(self.star_history_timezone)[: 30 * STAR_HISTORY_MAX_PAGES]
        if bounded_int(req.param("page"), 1, 1, 1_000_000) > STAR_HISTORY_MAX_PAGES:
            return Reply(422, {"message": PAGINATION_LIMITED, "documentation_url": DOCS})
        shown, headers, _ = self.paginate(req, repo, "/stargazers/history", weeks, default=30, maximum=30)
        body = [{"week": w, "total": sum(days), "days": days} for w, days in shown]
        return Reply(200, body, headers=headers, weak_etag=True)

    def star_count(self, req: RestRequest, repo: SimRepo) -> Reply:
        return Reply(200, {"count": self.view(repo).stars})

    def stargazers(self, req: RestRequest, repo: SimRepo) -> Reply:
        if req.token not in self.collaborator_tokens:
            # 2026-06-30 change: only admins and collaborators may list stargazers.
            if self.stargazers_policy == "empty":
                return Reply(200, [], weak_etag=True)
            message = "Must have push access to view repository stargazers."
            return Reply(403, {"message": message, "documentation_url": f"{DOCS}/activity/starring"})
        if bounded_int(req.param("page"), 1, 1, 1_000_000) > STARGAZERS_MAX_PAGES:
            return Reply(422, {"message": PAGINATION_LIMITED, "documentation_url": DOCS})
        events = self.view(repo).star_events()
        shown, headers, _ = self.paginate(req, repo, "/stargazers", events, default=30, maximum=100)
        with_dates = "star+json" in req.accept
        body: list[dict[str, Any]] = []
        for at, serial in shown:
            user = user_object(req.api, f"stargazer{serial}", 50_000_000 + serial)
            body.append({"starred_at": iso(at), "user": user} if with_dates else user)
        return Reply(200, body, headers=headers, weak_etag=True)

    def forks(self, req: RestRequest, repo: SimRepo) -> Reply:
        view = self.view(repo)
        items = view.forks  # oldest first (RepoView sorts once)
        if (req.param("sort") or "newest") != "oldest":
            items = items[::-1]
        shown, headers, _ = self.paginate(req, repo, "/forks", items, default=30, maximum=100)
        body = [self._fork_item(req, view, f) for f in shown]
        return Reply(200, body, headers=headers, weak_etag=True)

    def _fork_item(self, req: RestRequest, view: RepoView, fork: SimFork) -> dict[str, Any]:
        """A fork that is itself one of the scenario's repositories shows as that repository."""
        repo = self.by_id.get(fork.github_id)
        if repo is None:
            return fork_object(req.api, view, fork)
        return repository_part(req.api, self.view(repo), self.accounts.owner(repo.owner))

    def releases(self, req: RestRequest, repo: SimRepo) -> Reply:
        push = req.token is not None and req.token in self.collaborator_tokens  # drafts need push access
        found = release_objects(req.api, repo, self.today, drafts=push)
        shown, headers, _ = self.paginate(req, repo, "/releases", found, default=30, maximum=100)
        return Reply(200, list(shown), headers=headers)

    def commits(self, req: RestRequest, repo: SimRepo) -> Reply:
        view = self.view(repo)
        if not view.commits:
            return Reply(409, {"message": "Git Repository is empty.", "documentation_url": DOCS})
        found = view.commits_between(_stamp(req.param("since")), _stamp(req.param("until")))
        shown, headers, page = self.paginate(req, repo, "/commits", found, default=30, maximum=100)
        parent_of = {c.sha: p for c, p in zip(view.commits, [*view.commits[1:], None], strict=True)}
        body = [commit_object(req.api, view, c, parent_of[c.sha]) for c in shown]
        return Reply(200, body, headers=headers, weak_etag=True)


_ROUTES = {
    "": RestApi.repository,
    "/contributors": RestApi.contributors,
    "/stats/commit_activity": RestApi.commit_activity,
    "/stats/participation": RestApi.participation,
    "/stargazers/history": RestApi.star_history,
    "/stargazers/count": RestApi.star_count,
    "/stargazers": RestApi.stargazers,
    "/forks": RestApi.forks,
    "/commits": RestApi.commits,
    "/releases": RestApi.releases,
}
