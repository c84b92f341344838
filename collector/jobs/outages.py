"""Which failures are outages (wait and retry the whole pass) and which belong to one repository or job.

Only connection-level failures are outages: the store or GitHub cannot be reached at all. A value the
store refuses (DataError), a broken invariant (IntegrityError) or a bad query (ProgrammingError) would fail
again on every retry: it fails the repository or the job it concerns, with a line saying why.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError

from collector.errors import StoreUnavailable
from collector.github.errors import NoCredentials, Unreachable

STORE_OUTAGES = (OperationalError, InterfaceError, DisconnectionError, StoreUnavailable)
OUTAGES = (*STORE_OUTAGES, Unreachable)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the store or GitHub cannot be reached (retry later), not that something is wrong."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OUTAGES)


def ends_the_pass(exc: BaseException) -> bool:
    """An outage (waited out and retried) or no credential left (one line for the pass, not one per
    repository): neither is a failure of the repository in hand."""
    return is_outage(exc) or isinstance(exc, NoCredentials)


def first_line(exc: BaseException) -> str:
    """The one line an error is told by: the database driver's first line for a store error (never the SQL
    or its parameters), else the message's first line, else the error's type name."""
    orig = getattr(exc, "orig", None) if isinstance(exc, SQLAlchemyError) else None
    lines = str(exc if orig is None else orig).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def describe_failure(exc: BaseException) -> str:
    """One line for a failure: its first line, and for store errors whether the store was out or refused."""
    reason = first_line(exc)
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        kind = type(orig).__name__ if orig is not None else type(exc).__name__
        if isinstance(exc, STORE_OUTAGES):
            return f"the store is unreachable ({reason})"
        return f"the store refused it ({kind}: {reason})"
    return reason


def failure_kind(exc: BaseException) -> str:
    """A short kind for run_items.error_kind: the GitHub error's kind, or the store error's class."""
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str):
        return kind
    orig = getattr(exc, "orig", None)
    return f"store:{type(orig or exc).__name__}"[:40]
