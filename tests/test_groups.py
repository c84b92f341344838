"""Rule groups: the config's [groups.NAME] tables, the rule's query and filters, and membership in the
store (joins, leaves, partial answers) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.config import load_config
from collector.domain import GroupRule, Repository, make_group_rule, parse_repo_name
from collector.errors import ConfigError, InvalidGroupRule
from collector.store.engine import transaction
from collector.store.groups import (
    load_current_memberships,
    load_group,
    load_group_members,
    save_discovery,
    save_group_rule,
)
from collector.store.repos import save_discovered
from tests.conftest import Store


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "collector.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_rule_group_and_a_list_group_side_by_side(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[groups]
frameworks = ["BVLC/caffe"]

[groups.deep-learning]
topic = "deep-learning"
min_stars = 1000
repos = ["BVLC/caffe"]

[groups.pytorch]
org = "pytorch"
include_forks = true
include_archived = false
""",
        )
    )
    assert config.groups["frameworks"] == (parse_repo_name("BVLC/caffe"),)
    assert config.groups["deep-learning"] == (parse_repo_name("BVLC/caffe"),)
    assert config.groups["pytorch"] == ()
    assert config.rules == {
        "deep-learning": GroupRule("topic", "deep-learning", min_stars=1000),
        "pytorch": GroupRule("org", "pytorch", include_forks=True, include_archived=False),
    }
    assert "discover" in config.schedules  # daily unless configured


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[groups.g]\ntopic = "a"\norg = "b"', "exactly one of topic, org, user or search"),
        ("[groups.g]\nmin_stars = 5", "exactly one of topic, org, user or search"),
        ('[groups.g]\ntopic = "Deep Learning"', "is not a GitHub topic"),
        ('[groups.g]\norg = "no/slash"', "is not a GitHub login"),
        ('[groups.g]\ntopic = "x"\nmin_stars = "many"', "'groups.g.min_stars' is 'many'; expected a int"),
        ('[groups.g]\ntopic = "x"\ninclude_forks = 1', "expected a bool"),
        ('[groups.g]\ntopic = "x"\nlanguage = "go"', "'groups.g.language'"),
        ('[groups.g]\ntopic = "x"\nrepos = ["nope"]', "groups.g.repos"),
    ],
)
def test_a_broken_rule_names_the_key(tmp_path: Path, body: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_a_rule_puts_its_filters_in_the_query_and_in_admits() -> None:
    default = make_group_rule("topic", "deep-learning", min_stars=1000)
    assert default.search_query() == "topic:deep-learning"  # forks are out of search by default
    assert default.admits(1000, fork=False, archived=True)
    assert not default.admits(999, fork=False, archived=False)
    assert not default.admits(5000, fork=True, archived=False)
    wide = make_group_rule("search", "language:rust", include_forks=True, include_archived=False)
    assert wide.search_query() == "language:rust fork:true archived:false"
    assert wide.admits(0, fork=True, archived=False) and not wide.admits(10, fork=False, archived=True)
    with pytest.raises(InvalidGroupRule, match="the query is empty"):
        make_group_rule("search", "  ")
    with pytest.raises(InvalidGroupRule, match="min_stars is -1"):
        make_group_rule("org", "pytorch", min_stars=-1)


def repo(github_id: int, name: str) -> Repository:
    return Repository(github_id=github_id, full_name=name, created_at=datetime(2020, 1, 1, tzinfo=UTC))


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 12, tzinfo=UTC)


@pytest.mark.postgres
def test_members_join_leave_and_come_back_and_a_partial_answer_removes_nobody(store: Store) -> None:
    rule = make_group_rule("topic", "deep-learning", min_stars=1000)
    with transaction(store.sessions) as s:
        save_group_rule(s, "dl", rule, "config", at(1))
        ids = save_discovered(s, [repo(1, "a/one"), repo(2, "b/two"), repo(3, "c/three")])
        change = save_discovery(s, "dl", ids.values(), [], complete=True, now=at(1))
    assert sorted(change.joined) == sorted(ids.values()) and change.left == [] and change.members == 3

    # Day 2: b/two stopped matching (a complete answer): it leaves, and keeps its row and history.
    with transaction(store.sessions) as s:
        change = save_discovery(s, "dl", [ids[1], ids[3]], [], complete=True, now=at(2))
        assert change.left == [ids[2]] and change.joined == []
        members = load_group_members(s, "dl", current_only=False)
    assert {(m.repo_id, m.joined_on, m.left_on) for m in members} == {
        (ids[1], date(2026, 11, 1), None),
        (ids[2], date(2026, 11, 1), date(2026, 11, 2)),
        (ids[3], date(2026, 11, 1), None),
    }

    # Day 3: GitHub's answer was partial and lacks c/three: nobody is marked as left.
    with transaction(store.sessions) as s:
        change = save_discovery(s, "dl", [ids[1]], [], complete=False, now=at(3))
        assert change.left == [] and change.members == 2
        group = load_group(s, "dl")
    assert group is not None and group.complete is False and group.found == 1 and group.rule == rule

    # Day 4: b/two is back.
    with transaction(store.sessions) as s:
        change = save_discovery(s, "dl", ids.values(), [], complete=True, now=at(4))
        assert change.joined == [ids[2]]
        assert load_current_memberships(s) == {"dl": ["a/one", "b/two", "c/three"]}
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT repo, left_on FROM group_membership ORDER BY repo")).all()
    assert [r[0] for r in rows] == ["a/one", "b/two", "c/three"] and all(r[1] is None for r in rows)


@pytest.mark.postgres
def test_discovered_repositories_are_tracked_once_even_when_renamed(store: Store) -> None:
    with transaction(store.sessions) as s:
        first = save_discovered(s, [repo(7, "old/name")])
    with transaction(store.sessions) as s:
        again = save_discovered(s, [repo(7, "new/name")])  # renamed on GitHub: same row, old name kept
        assert again == first
        names = s.execute(text("SELECT full_name, tracked FROM repositories")).all()
    assert [tuple(n) for n in names] == [("new/name", True)]
