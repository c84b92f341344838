"""What every backfill series needs: the repository, the client, the store and the days it covers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from collector.domain import RepoName, week_start
from collector.github.api import GitHubAPI
from collector.jobs.progress import Reporter


def last_complete_day(today: date) -> date:
    """The last day of the last full week (weeks start on Sunday): later days can still change."""
    return week_start(today) - timedelta(days=1)


@dataclass
class SeriesContext:
    """One repository's backfill: `since` is where this run's history starts, `created` its first day."""

    sessions: sessionmaker[Session]
    gh: GitHubAPI
    repo_id: int
    name: RepoName
    since: date
    today: date
    reporter: Reporter
    log: logging.Logger
    created: date
