"""Releases in the store (SQLite and PostgreSQL): releases by tag, one download total per asset and UTC
day, and the repo_releases view summing each release's latest totals."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text

from collector.domain import Release, ReleaseAsset, Repository
from collector.store.engine import transaction
from collector.store.releases import (
    load_release_markers,
    load_release_totals,
    load_releases,
    save_releases,
)
from collector.store.repos import save_repository
from tests.conftest import Store

V1 = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
V2 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _releases(wheel: int, tarball: int, rc: int) -> list[Release]:
    return [
        Release(
            "v1.0.0",
            "One",
            V1,
            False,
            (ReleaseAsset("pkg.whl", wheel), ReleaseAsset("pkg.tar.gz", tarball)),
        ),
        Release("v1.1.0rc1", None, V2, True, (ReleaseAsset("pkg.whl", rc),)),
        Release("v0.1.0", "no assets", None, False),
    ]


def test_daily_totals_and_the_view(store: Store) -> None:
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(1, "acme/widget")).id
        assert save_releases(s, repo_id, _releases(10, 5, 1), date(2026, 12, 6)) == 3
        # A later observation on the same day replaces the earlier one.
        save_releases(s, repo_id, _releases(12, 5, 2), date(2026, 12, 6))
    with transaction(store.sessions) as s:
        save_releases(s, repo_id, _releases(20, 7, 4), date(2026, 12, 7))
    with store.sessions() as s:
        assert load_release_totals(s, repo_id) == {date(2026, 12, 6): 19, date(2026, 12, 7): 31}
        stored = load_releases(s, repo_id)
        assert [(r.tag, r.downloads, r.prerelease) for r in stored] == [
            ("v1.1.0rc1", 4, True),
            ("v1.0.0", 27, False),
            ("v0.1.0", None, False),
        ]
        assert stored[1].published_at == V1 and stored[1].name == "One"
        assert load_release_markers(s, [repo_id]) == {
            repo_id: [(date(2026, 11, 2), "v1.0.0"), (date(2026, 11, 20), "v1.1.0rc1")]
        }
        assert load_release_markers(s, [repo_id], since=date(2026, 11, 10)) == {
            repo_id: [(date(2026, 11, 20), "v1.1.0rc1")]
        }
        rows = s.execute(text("SELECT COUNT(*) FROM release_asset_daily")).scalar()
        assert rows == 6  # three assets, two days


def test_a_renamed_release_keeps_its_history(store: Store) -> None:
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(2, "acme/gadget")).id
        save_releases(
            s, repo_id, [Release("v2", "Two", V1, True, (ReleaseAsset("a.zip", 3),))], date(2026, 12, 1)
        )
        save_releases(
            s,
            repo_id,
            [Release("v2", "Two final", V1, False, (ReleaseAsset("a.zip", 9),))],
            date(2026, 12, 2),
        )
    with store.sessions() as s:
        (only,) = load_releases(s, repo_id)
        assert (only.name, only.prerelease, only.downloads) == ("Two final", False, 9)
        assert load_release_totals(s, repo_id) == {date(2026, 12, 1): 3, date(2026, 12, 2): 9}


def test_a_tag_or_asset_given_twice_is_stored_once(store: Store) -> None:
    twice = Release("v3", None, V2, False, (ReleaseAsset("a.zip", 1), ReleaseAsset("a.zip", 2)))
    with transaction(store.sessions) as s:
        repo_id = save_repository(s, Repository(3, "acme/twice")).id
        assert save_releases(s, repo_id, [twice, twice], date(2026, 12, 1)) == 1
    with store.sessions() as s:
        assert [(r.tag, r.downloads) for r in load_releases(s, repo_id)] == [("v3", 2)]
