"""Tables of the store. Dates are UTC days; timestamps are aware UTC datetimes.

History is kept narrow and sparse: one row per (repository, metric, day) with the additions on that day,
or per (repository, metric, week) for weekly series. Cumulative values are computed by the views."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

# The base lives in base.py; importers of these names from here keep working.
from collector.store.base import NAMING_CONVENTION as NAMING_CONVENTION
from collector.store.base import Base as Base
from collector.store.base import UTCDateTime as UTCDateTime

# What a day range of every repository at once (the days of a value's month) reads from the indexes alone.
_SNAPSHOT_DAY = ["repo_id", "stars", "forks", "contributors"]
_HISTORY_DAY = ["repo_id", "metric", "value"]


class RepoRow(Base):
    """A tracked (or once seen) repository. `github_id` is GitHub's numeric id, stable across renames."""

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    github_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    node_id: Mapped[str | None]
    full_name: Mapped[str]
    name_key: Mapped[str] = mapped_column(unique=True)  # lower(full_name)
    created_at: Mapped[datetime | None]
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_language: Mapped[str | None]
    description: Mapped[str | None]
    default_branch: Mapped[str | None]
    tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]  # when GitHub last confirmed name and id
    gone_reason: Mapped[str | None]  # set when GitHub says the repository is deleted or blocked


class RepoAlias(Base):
    """Every `owner/name` a repository has been known by, the current one included."""

    __tablename__ = "repo_aliases"

    name_key: Mapped[str] = mapped_column(primary_key=True)
    full_name: Mapped[str]
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class RepoSnapshot(Base):
    """Counters observed from GitHub. At most one row per repository and UTC day: the day's latest."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_observed_day", "observed_day", postgresql_include=_SNAPSHOT_DAY),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    observed_day: Mapped[date] = mapped_column(Date, primary_key=True)
    observed_at: Mapped[datetime]
    stars: Mapped[int]
    forks: Mapped[int]
    watchers: Mapped[int]
    open_issues: Mapped[int]
    contributors: Mapped[int | None]
    commits_52w: Mapped[int | None]
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


class HistoryDaily(Base):
    """Reconstructed additions on one UTC day (stars, forks, contributors, commits). Sparse: no row = 0."""

    __tablename__ = "history_daily"
    __table_args__ = (Index("ix_history_daily_day", "day", postgresql_include=_HISTORY_DAY),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int]
    source: Mapped[str] = mapped_column(String(40))


class HistoryMonthly(Base):
    """Sums of history_daily per calendar month, kept exact by every write (reports read these)."""

    __tablename__ = "history_monthly"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    month_start: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int]


class HistoryRunning(Base):
    """history_daily summed up to the end of each month of history_monthly, kept exact by every write."""

    __tablename__ = "history_running"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    month_start: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)


class HistoryWeekly(Base):
    """Reconstructed values for the week starting on Sunday `week_start`. Dense: no row = unknown."""

    __tablename__ = "history_weekly"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int]
    source: Mapped[str] = mapped_column(String(40))


class HistoryWeeklyMonthly(Base):
    """Sums of history_weekly per month of the weeks' Sundays, kept exact by every write (reports)."""

    __tablename__ = "history_weekly_monthly"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    month_start: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int]


class SnapshotMonthly(Base):
    """The latest snapshot of each repository and calendar month, kept by every write (reports)."""

    __tablename__ = "snapshots_monthly"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    month_start: Mapped[date] = mapped_column(Date, primary_key=True)
    observed_day: Mapped[date] = mapped_column(Date)
    stars: Mapped[int]
    forks: Mapped[int]
    contributors: Mapped[int | None]


class ContributorIdentity(Base):
    """First commit of each author identity ('u:<user id>' or 'e:<sha256 of email>'); no raw emails."""

    __tablename__ = "contributor_identities"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    identity: Mapped[str] = mapped_column(primary_key=True)
    first_commit_at: Mapped[datetime]


class Fork(Base):
    """A direct fork seen in the forks listing, with its creation time (forks history is built from these)."""

    __tablename__ = "forks"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    fork_github_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime]


class Calendar(Base):
    """One row per UTC day from 2000 to 2060, so views need no dialect-specific date arithmetic."""

    __tablename__ = "calendar"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, index=True)
    month_start: Mapped[date] = mapped_column(Date)
    quarter_start: Mapped[date] = mapped_column(Date)
    year_start: Mapped[date] = mapped_column(Date)


class Run(Base):
    """One execution of a job (collect, backfill, report) by one process."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, ok, partial, failed
    worker: Mapped[str | None]
    stats: Mapped[str | None]  # JSON: requests, 304s, budget used, ...

    __table_args__ = (Index("ix_runs_job_started_at", "job", "started_at"),)


class RunItem(Base):
    """The outcome of one unit of work (repository x job) in a run; errors are kept for `status`."""

    __tablename__ = "run_items"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # ok, error, not_ready, unavailable
    error_kind: Mapped[str | None]
    message: Mapped[str | None]
    finished_at: Mapped[datetime]

    __table_args__ = (Index("ix_run_items_repo_id_job_finished_at", "repo_id", "job", "finished_at"),)


class SeriesState(Base):
    """Backfill checkpoint per repository and series: resume point and coverage."""

    __tablename__ = "series_state"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    series: Mapped[str] = mapped_column(String(40), primary_key=True)  # stars, forks, commits, contributors
    status: Mapped[str] = mapped_column(String(20))  # partial, complete, unavailable
    cursor: Mapped[str | None]  # next page URL or GraphQL cursor to resume from
    covered_from: Mapped[date | None] = mapped_column(Date)
    covered_to: Mapped[date | None] = mapped_column(Date)
    detail: Mapped[str | None]  # e.g. why the series is unavailable
    updated_at: Mapped[datetime]


class HttpCache(Base):
    """Validators and bodies for conditional requests, per token (by a one-way key) and URL."""

    __tablename__ = "http_cache"

    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(primary_key=True)
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    status: Mapped[int]
    headers: Mapped[str | None]  # JSON of the headers worth replaying (link, ...)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime]


class TokenBudget(Base):
    """The last budget seen per token (by position and one-way key) and resource, for `status`."""

    __tablename__ = "token_budgets"

    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(primary_key=True)  # from GitHub's X-RateLimit-Resource
    position: Mapped[int]
    limit: Mapped[int]
    remaining: Mapped[int]
    reset_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Lease(Base):
    """A claim on one unit of work (job x repository) by one daemon, until `expires_at`."""

    __tablename__ = "leases"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[str | None]
    expires_at: Mapped[datetime | None]
    cycle: Mapped[str | None]  # the schedule cycle the work was done for
    done_at: Mapped[datetime | None]
    # Incremented by each claim: the holder's writes check it (a fencing token), see store/leases.py.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class JobLock(Base):
    """A cluster-wide lock for a job one daemon runs at a time (discovery, reports), until `expires_at`
    by the database's clock."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None]
    expires_at: Mapped[datetime | None]


class RepoGroup(Base):
    """A group defined by a rule (topic, org, user or search), from the config or `repos add --group`.
    Discovery re-evaluates the rule; `complete` is False when GitHub's answer was partial (then nobody
    is marked as having left)."""

    __tablename__ = "repo_groups"

    name: Mapped[str] = mapped_column(primary_key=True)  # default "<kind>:<value>", e.g. a whole search query
    kind: Mapped[str] = mapped_column(String(20))  # topic | org | user | search
    value: Mapped[str]
    min_stars: Mapped[int] = mapped_column(Integer, default=0)
    include_forks: Mapped[bool] = mapped_column(Boolean, default=False)
    include_archived: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(20))  # config | cli
    defined_at: Mapped[datetime]
    discovered_at: Mapped[datetime | None]
    found: Mapped[int | None]
    complete: Mapped[bool | None]


class GroupMemberRow(Base):
    """A repository in a rule group: joined the day discovery first found it, left the day it stopped
    matching (history is never deleted). `fixed` members are the group's `repos` list."""

    __tablename__ = "group_members"

    group_name: Mapped[str] = mapped_column(
        ForeignKey("repo_groups.name", ondelete="CASCADE"), primary_key=True
    )
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    fixed: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertFiring(Base):
    """An alert that fired: once per alert, metric, rule, repository and occurrence (the milestone, or the
    ISO week of a weekly or rank rule), so a restart never repeats one. `delivered_at` stays NULL until
    the webhook took it; `claimed_until` is a delivery in progress (another daemon leaves it alone).
    Never the webhook URL: it is a secret."""

    __tablename__ = "alert_firings"

    alert: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    occurrence: Mapped[str] = mapped_column(String(40), primary_key=True)  # "10000", "2026-W48"
    value: Mapped[int] = mapped_column(BigInteger)
    previous: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str]
    fired_at: Mapped[datetime] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None]  # why the last delivery failed ("HTTP 500", "ConnectError"), no URL


class Package(Base):
    """A package of a repository on PyPI or npm (`source`), from the config or `packages add`."""

    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("repo_id", "source", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(10))  # pypi | npm
    name: Mapped[str]  # PyPI: PEP 503 normalised; npm: as published, scope included
    origin: Mapped[str] = mapped_column(String(20))  # config | cli
    added_at: Mapped[datetime]


class PackageDownloadsDaily(Base):
    """Downloads of a package on a UTC day, as its source gave them; no row: never given (NULL, not 0)."""

    __tablename__ = "package_downloads_daily"
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    downloads: Mapped[int] = mapped_column(BigInteger)


class PackageSync(Base):
    """A package's days held, when its source was last asked and last gave a new day; why it failed."""

    __tablename__ = "package_sync"
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True)
    known_from: Mapped[date | None] = mapped_column(Date)
    fetched_through: Mapped[date | None] = mapped_column(Date)
    last_fetched_at: Mapped[datetime | None]
    advanced_at: Mapped[datetime | None]
    note: Mapped[str | None]
