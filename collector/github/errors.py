"""GitHub failures, translated once at the edge of the client (`raise ... from exc`).

Messages never contain a token; a token is named by its position in GITHUB_TOKEN.
"""

from __future__ import annotations

from datetime import datetime

from collector.errors import CollectorError


class GitHubError(CollectorError):
    """Any failure talking to GitHub. `url` and `status` say where, when known."""

    kind = "github"

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class NotFound(GitHubError):
    """404: missing, deleted, or private without access."""

    kind = "not_found"


class Blocked(GitHubError):
    """451 (or 403) "Repository access blocked": a DMCA takedown or similar."""

    kind = "blocked"


class BadCredentials(GitHubError):
    """401 for one token: that token is stopped; `position` is its place in GITHUB_TOKEN."""

    kind = "bad_credentials"

    def __init__(self, message: str, *, position: int | None = None, url: str | None = None) -> None:
        super().__init__(message, url=url, status=401)
        self.position = position


class NoCredentials(BadCredentials):
    """Every token, or every installation of the App, was refused: nothing more can be asked this pass."""

    kind = "no_credentials"


class RateLimited(GitHubError):
    """Every token's budget is exhausted until `reset_at` (raised only where waiting is not allowed)."""

    kind = "rate_limited"

    def __init__(self, message: str, *, reset_at: datetime | None = None, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.reset_at = reset_at


class NotReady(GitHubError):
    """Statistics still being computed (202) after the bounded retries."""

    kind = "not_ready"


class TooLarge(GitHubError):
    """403 "too large to list contributors": not retried; the count is unavailable."""

    kind = "too_large"


class EndpointUnavailable(GitHubError):
    """The endpoint does not exist on this server (e.g. /stargazers/history on older GHES)."""

    kind = "endpoint_unavailable"


class Forbidden(GitHubError):
    """403 that is neither a rate limit nor one of the cases above (e.g. listing not allowed)."""

    kind = "forbidden"


class OffHostRedirect(GitHubError):
    """A redirect or Link pointing to another host than the configured API host: refused."""

    kind = "off_host"


class MalformedResponse(GitHubError):
    """A body that is not what the endpoint documents (names URL and status)."""

    kind = "malformed"


class ServerError(GitHubError):
    """5xx, timeouts or connection errors that persisted through the bounded retries."""

    kind = "server_error"


class Unreachable(ServerError):
    """GitHub could not be reached at all (name resolution, refused or timed-out connections) through the
    bounded retries: an outage of the whole pass, not a failure of one repository."""

    kind = "unreachable"


class GraphQLError(GitHubError):
    """A GraphQL `errors[]` entry for a whole query (per-alias errors are reported per repository)."""

    kind = "graphql"
