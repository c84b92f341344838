"""Pure parsers from GitHub's JSON to our types. They raise KeyError/TypeError/ValueError on a wrong
shape; the API layer turns that into MalformedResponse naming the URL and status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collector.domain import ForkInfo, Release, ReleaseAsset, Repository
from collector.github.types import (
    CommitInfo,
    CommitPage,
    PlanInputs,
    RateLimits,
    RepoCounters,
    StarWeek,
    WeekActivity,
)


def page_number(url: str | None) -> int | None:
    """The `page` query parameter of a Link URL (rel="last" gives a count that way)."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp ('2017-01-03T12:00:00Z') as an aware UTC datetime."""
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO timestamp, got {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _optional_timestamp(value: Any) -> datetime | None:
    return None if value is None else parse_timestamp(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected a string or null, got {value!r}")
    return value


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected an array, got {type(value).__name__}")
    return value


def _week_day(value: Any) -> date:
    # GitHub gives a week as the unix time of its Sunday 00:00 UTC.
    return datetime.fromtimestamp(_int(value), UTC).date()


def _seven(value: Any) -> tuple[int, int, int, int, int, int, int]:
    days = [_int(v) for v in _list(value)]
    if len(days) != 7:
        raise ValueError(f"expected 7 days Sunday..Saturday, got {len(days)}")
    return (days[0], days[1], days[2], days[3], days[4], days[5], days[6])


def parse_repository(body: Any) -> Repository:
    """REST `GET /repos/{o}/{r}` (or `/repositories/{id}`) object."""
    obj = _object(body)
    full_name = obj["full_name"]
    if not isinstance(full_name, str):
        raise TypeError("full_name is not a string")
    return Repository(
        github_id=_int(obj["id"]),
        full_name=full_name,
        created_at=_optional_timestamp(obj.get("created_at")),
        archived=bool(obj.get("archived", False)),
        primary_language=_opt_str(obj.get("language")),
        description=_opt_str(obj.get("description")),
        default_branch=_opt_str(obj.get("default_branch")),
        node_id=_opt_str(obj.get("node_id")),
    )


def parse_rest_counters(body: Any) -> RepoCounters:
    """Counters from the REST repository object (the fallback without a token).

    REST's `watchers_count` is the star count; watchers are `subscribers_count`. `open_issues_count`
    includes open pull requests, unlike GraphQL's issues(states: OPEN).
    """
    obj = _object(body)
    return RepoCounters(
        repo=parse_repository(obj),
        stars=_int(obj["stargazers_count"]),
        forks=_int(obj["forks_count"]),
        watchers=_int(obj["subscribers_count"]),
        open_issues=_int(obj["open_issues_count"]),
        pushed_at=_optional_timestamp(obj.get("pushed_at")),
    )


def parse_graphql_counters(node: Any) -> RepoCounters:
    """One aliased `repository { ...Counters }` node of the counters query."""
    obj = _object(node)
    name_with_owner = obj["nameWithOwner"]
    if not isinstance(name_with_owner, str):
        raise TypeError("nameWithOwner is not a string")
    language = obj.get("primaryLanguage")
    branch = obj.get("defaultBranchRef")
    repo = Repository(
        github_id=_int(obj["databaseId"]),
        full_name=name_with_owner,
        created_at=_optional_timestamp(obj.get("createdAt")),
        archived=bool(obj.get("isArchived", False)),
        primary_language=_opt_str(_object(language).get("name")) if language is not None else None,
        description=_opt_str(obj.get("description")),
        default_branch=_opt_str(_object(branch).get("name")) if branch is not None else None,
        node_id=_opt_str(obj.get("id")),
    )
    return RepoCounters(
        repo=repo,
        stars=_int(obj["stargazerCount"]),
        forks=_int(obj["forkCount"]),
        watchers=_int(_object(obj["watchers"])["totalCount"]),
        open_issues=_int(_object(obj["issues"])["totalCount"]),
        pushed_at=_optional_timestamp(obj.get("pushedAt")),
        commits_52w=_history_count(branch),
    )


def _history_count(branch: Any) -> int | None:
    """`defaultBranchRef { target { history { totalCount } } }`: 0 without a branch (an empty repository),
    None when the node carries no count."""
    if branch is None:
        return 0
    target = _object(branch).get("target")
    history = _object(target).get("history") if target is not None else None
    return _int(_object(history)["totalCount"]) if history is not None else None


def parse_commit_activity(body: Any) -> list[WeekActivity]:
    """`/stats/commit_activity`: 52 weeks, oldest first."""
    out = []
    for item in _list(body):
        obj = _object(item)
        out.append(WeekActivity(_week_day(obj["week"]), _int(obj["total"]), _seven(obj["days"])))
    return out


def parse_star_history(body: Any) -> tuple[StarWeek, ...]:
    """`/stargazers/history`: weeks newest first, each with its days Sunday..Saturday."""
    out = []
    for item in _list(body):
        obj = _object(item)
        # Days are kept as given (any count); whether they agree with `total` is the backfill's call.
        days = tuple(_int(v) for v in _list(obj.get("days") or []))
        out.append(StarWeek(_week_day(obj["week"]), _int(obj["total"]), days))
    return tuple(out)


def parse_forks(body: Any) -> tuple[ForkInfo, ...]:
    """`/forks`: each fork's id and creation time."""
    return tuple(
        ForkInfo(_int(_object(item)["id"]), parse_timestamp(_object(item)["created_at"]))
        for item in _list(body)
    )


def parse_releases(body: Any) -> tuple[Release, ...]:
    """`/releases`: each published release with its assets' `download_count`; drafts (listed only to
    those with push access) are left out."""
    releases = []
    for item in map(_object, _list(body)):
        if item.get("draft"):
            continue
        assets = tuple(
            ReleaseAsset(str(_object(a)["name"]), _int(_object(a)["download_count"]))
            for a in _list(item.get("assets") or [])
        )
        releases.append(
            Release(
                tag=str(item["tag_name"]),
                name=_opt_str(item.get("name")) or None,
                published_at=_optional_timestamp(item.get("published_at")),
                prerelease=bool(item.get("prerelease")),
                assets=assets,
            )
        )
    return tuple(releases)


def parse_stargazer_dates(body: Any) -> tuple[datetime, ...]:
    """The legacy `/stargazers` listing with star+json: `starred_at` of each star."""
    return tuple(parse_timestamp(_object(item)["starred_at"]) for item in _list(body))


def commit_identity(author: Mapping[str, Any] | None) -> str:
    """'u:<databaseId>' when GitHub links the commit to an account, else 'e:<lower-cased email>'."""
    author = author or {}
    user = author.get("user")
    if user is not None and _object(user).get("databaseId") is not None:
        return f"u:{_int(_object(user)['databaseId'])}"
    email = author.get("email")
    return f"e:{email.lower() if isinstance(email, str) else ''}"


def parse_commit_history(history: Any) -> CommitPage:
    """A `history(first:, after:) { totalCount pageInfo nodes }` connection (`commits_query`'s nodes)."""
    obj = _object(history)
    info = _object(obj["pageInfo"])
    commits = []
    for node in _list(obj["nodes"]):
        n = _object(node)
        author = n.get("author")
        commits.append(
            CommitInfo(
                oid=str(n["oid"]),
                authored_at=parse_timestamp(n["authoredDate"]),
                identity=commit_identity(_object(author) if author is not None else None),
                committed_at=parse_timestamp(n["committedDate"]),
                parents=_int(_object(n["parents"])["totalCount"]),
            )
        )
    total = obj.get("totalCount")
    return CommitPage(
        commits=tuple(commits),
        end_cursor=_opt_str(info.get("endCursor")),
        has_next=bool(info["hasNextPage"]),
        total_count=_int(total) if total is not None else None,
    )


def parse_plan_inputs(node: Any) -> PlanInputs:
    """A `plan_query` alias."""
    repo = _object(node)
    ref = repo.get("defaultBranchRef") or {}
    history = _object(_object(ref).get("target") or {}).get("history") or {}
    return PlanInputs(
        str(repo["nameWithOwner"]),
        parse_timestamp(repo["createdAt"]),
        _int(repo["forkCount"]),
        _int(_object(history).get("totalCount", 0)),
    )


def parse_rate_limits(body: Any) -> RateLimits:
    """/rate_limit's core and graphql budgets."""
    resources = _object(_object(body)["resources"])
    core, graphql = _object(resources["core"]), _object(resources["graphql"])
    return RateLimits(
        _int(core["remaining"]), _int(core["limit"]), _int(graphql["remaining"]), _int(graphql["limit"])
    )
