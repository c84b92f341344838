"""month_values: each repository's monthly report values packed in one row, so that a monthly trend of every
repository reads one row each instead of a row per repository, month and rollup (at 10,000 repositories
over ten years, 10,000 rows instead of about five million).

A row is what load_period_grid computes for the repository per month (values, missing flags and sources of
stars, forks and contributors, commits, whether it had data), from its first month of data to the last
complete month when it was packed, with the version of its data then (series_versions, month_state.py).
Every change of that data moves the version in its own transaction, so a row is used only while its version
is current: a stale row costs a live computation, never a value. Packing runs after the jobs that write
(refresh_month_values in report_months.py, called by jobs/packing.py). Months before a row's first have no
data: their cells are what the live computation gives there, which depends only on whether each metric has
additions at all (`rebuilt`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    Select,
    case,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from collector.store.base import Base
from collector.store.columns import among, binary_row, unpack, unpack_bytea_array
from collector.store.month_state import SeriesVersion
from collector.store.report_grid import (
    CUMULATIVE_METRICS,
    GRID_METRICS,
    RECONSTRUCTED,
    BoolArray,
    CodeArray,
    IntArray,
)


class MonthValues(Base):
    """One repository's monthly report values from month number `first_month_no` for `months` months, packed,
    computed from version `version` of its data; `rebuilt`: a bit per cumulative metric with additions."""

    __tablename__ = "month_values"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    first_month_no: Mapped[int] = mapped_column(Integer)  # month_number of its first month
    months: Mapped[int] = mapped_column(Integer)
    rebuilt: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


# A month in a payload: values of GRID_METRICS (32-bit), their missing flags, the sources of the cumulative
# ones (SOURCES codes), and has_data; little-endian. A payload is its months in order, so that the payloads
# of every repository read at once are one array of these (24 bytes a month: ten years of 10,000
# repositories are about 25 MB, stored uncompressed so that a range of months is read alone).
MONTH = np.dtype(
    [("values", "<i4", (4,)), ("missing", "u1", (4,)), ("sources", "i1", (3,)), ("has_data", "u1")]
)


@dataclass(frozen=True)
class Packed:
    """One repository's row: its months from `first_month` (MONTH records) and, per cumulative metric,
    whether it has additions at all (`rebuilt`)."""

    first_month: date
    records: np.ndarray
    rebuilt: dict[str, bool]

    @property
    def months(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class PackedRows:
    """The current rows of many repositories at once, cut to a range of months: per row its repository,
    its first month read (a month_number), how many were read, the number of the month after its stored
    last (`ends`: whether it reaches a month at all), the position of its first in `records`, and its
    `rebuilt` flags (one column per cumulative metric)."""

    repo_ids: IntArray
    first_months: IntArray
    months: IntArray
    ends: IntArray
    bases: IntArray
    rebuilt: BoolArray
    records: np.ndarray


def month_number(day: date) -> int:
    """Months since year 0: consecutive months are consecutive numbers."""
    return day.year * 12 + day.month - 1


def encode(packed: Packed) -> bytes:
    """The payload of a row."""
    return np.ascontiguousarray(packed.records, dtype=MONTH).tobytes()


def before_data(rebuilt: BoolArray) -> tuple[IntArray, BoolArray, CodeArray]:
    """A month before a repository's first data, per cumulative metric then commits (the `rebuilt` flags of
    rows x metrics): value 0; a cumulative metric known and reconstructed if it has additions at all, else
    unknown; commits unknown. Returns (values, missing, sources) of shape rows x metrics."""
    rows = len(rebuilt)
    values = np.zeros((rows, len(GRID_METRICS)), dtype=np.int64)
    missing = np.ones((rows, len(GRID_METRICS)), dtype=bool)
    missing[:, : len(CUMULATIVE_METRICS)] = ~rebuilt
    sources = np.where(rebuilt, RECONSTRUCTED, 0).astype(np.int8)
    return values, missing, sources


def load_month_values(session: Session, repo_ids: Sequence[int], first: int, last: int) -> PackedRows:
    """The current rows of `repo_ids` (those whose version is still their data's), read at once and cut
    to the months numbered `first` to `last` (month_number): each row from its first month in that range,
    none for a row that begins after it. On PostgreSQL payloads are stored uncompressed (migration 0015),
    so that the server reads only the parts of each it returns."""
    dialect = session.get_bind().dialect.name
    v, s = MonthValues, SeriesVersion
    begins = case((v.first_month_no < first, first), else_=v.first_month_no)  # the first month read
    final = case((v.first_month_no + v.months - 1 > last, last), else_=v.first_month_no + v.months - 1)
    count = case((final >= begins, final - begins + 1), else_=0)
    part = func.substr(v.payload, (begins - v.first_month_no) * MONTH.itemsize + 1, count * MONTH.itemsize)
    stmt = (
        select(v.repo_id, begins, count, v.first_month_no + v.months, v.rebuilt, part)
        .join(s, (s.repo_id == v.repo_id) & (s.version == v.version))
        .where(among(v.repo_id, repo_ids, dialect))
    )
    if dialect == "postgresql":
        return _aggregated(session, stmt)
    rows = session.connection().execute(stmt).all()
    ids, firsts, months, ends, bits = (np.array([r[k] for r in rows], dtype=np.int64) for k in range(5))
    return _packed_rows(ids, firsts, months, ends, bits, b"".join(bytes(r[5]) for r in rows))


def _aggregated(session: Session, stmt: Select[Any]) -> PackedRows:
    """On PostgreSQL, the rows of `stmt` as one row of arrays in binary (as columns.py reads the report
    queries): 10,000 rows as Python rows, with bytea as text, took 61-70 ms, this 51-58. The payloads'
    lengths are their months times MONTH's size."""
    rows = stmt.subquery()
    packed = select(*(func.array_send(func.array_agg(c)) for c in rows.c))
    compiled = packed.compile(dialect=session.get_bind().dialect)
    found = binary_row(session, str(compiled), compiled.params)
    ids, firsts, months, ends, bits = (unpack(found[k], "int") for k in range(5))
    return _packed_rows(
        ids, firsts, months, ends, bits, unpack_bytea_array(found[5], months * MONTH.itemsize)
    )


def _packed_rows(
    repo_ids: IntArray, firsts: IntArray, months: IntArray, ends: IntArray, bits: IntArray, payload: bytes
) -> PackedRows:
    records = np.frombuffer(payload, dtype=MONTH)
    if len(records) != int(months.sum()):
        raise ValueError(f"month_values payloads hold {len(records)} months, their rows {int(months.sum())}")
    return PackedRows(
        repo_ids=repo_ids,
        first_months=firsts,
        months=months,
        ends=ends,
        bases=np.concatenate(([0], np.cumsum(months)[:-1])).astype(np.int64) if len(months) else months,
        rebuilt=(bits[:, np.newaxis] >> np.arange(len(CUMULATIVE_METRICS)) & 1).astype(bool),
        records=records,
    )


def save_month_values(session: Session, rows: Mapping[int, tuple[int, Packed]]) -> None:
    """Replace the rows of the repositories in `rows` (repository id -> (version, arrays))."""
    if not rows:
        return
    session.execute(delete(MonthValues).where(MonthValues.repo_id.in_(list(rows))))
    session.execute(
        insert(MonthValues),
        [
            {
                "repo_id": repo_id,
                "version": version,
                "first_month_no": month_number(packed.first_month),
                "months": packed.months,
                "rebuilt": sum(1 << k for k, m in enumerate(CUMULATIVE_METRICS) if packed.rebuilt[m]),
                "payload": encode(packed),
            }
            for repo_id, (version, packed) in rows.items()
        ],
    )
