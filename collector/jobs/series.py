"""What every backfill series needs: the repository, the client, the store and the days it covers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from collector.domain import RepoName, week_start
from collector.github.api import GitHubAPI
from collector.jobs.progress import Reporter
from collector.store import leases
from collector.store.checkpoints import Checkpoint, hold_checkpoint
from collector.store.engine import transaction


def last_complete_day(today: date) -> date:
    """The last day of the last full week (weeks start on Sunday): later days can still change."""
    return week_start(today) - timedelta(days=1)


@dataclass
class SeriesContext:
    """One repository's backfill: `since` is where this run's history starts, `created` its first day;
    `lease` fences its writes when the repository was claimed (None: named on the command line)."""

    sessions: sessionmaker[Session]
    gh: GitHubAPI
    repo_id: int
    name: RepoName
    since: date
    today: date
    reporter: Reporter
    log: logging.Logger
    created: date
    lease: leases.LeaseToken | None = None

    @contextmanager
    def write(self, series: str | None, loaded: Checkpoint | None = None) -> Iterator[Session]:
        """A transaction for one page of `series`: it fails (and rolls back) with LeaseLost when the lease
        was lost, or with CheckpointMoved unless the stored checkpoint is still `loaded`, the one this
        worker's pages follow (`series` None: the lease only)."""
        with transaction(self.sessions) as session:
            if self.lease is not None:
                leases.fence(session, self.lease)
            if series is not None:
                hold_checkpoint(session, self.repo_id, series, loaded)
            yield session
