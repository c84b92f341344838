"""Alerts at 10,000 group members (issue 18): rank_change in one sort, the evaluation off the event loop,
at most `max_messages` messages per alert and evaluation and one digest for the rest."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from collector.alerts.evaluate import evaluate_alerts
from collector.alerts.messages import digest_text, render_digest
from collector.alerts.rules import Firing, RepoValues, compute_firings, compute_ranks
from collector.alerts.spec import AlertSpec, Webhook
from collector.alerts.webhook import WebhookSender, bind_webhooks
from collector.domain import GroupRule
from collector.errors import ConfigError
from collector.store.engine import transaction
from collector.store.groups import save_group_rule
from collector.store.models import AlertFiring, GroupMemberRow, RepoRow, RepoSnapshot
from tests.conftest import Store
from tests.test_alerts import Receiver, Sleeps, config_file

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


SPEC = AlertSpec("ranks", (), "g", Webhook("https://hooks.example.com/x"), rank_change=True)


# --- rank_change: the same firings as the pairwise definition it replaces ---------------------------------


def old_ranks(values: dict[int, int]) -> dict[int, int]:
    """The definition before issue 18: 1 + how many are strictly larger (O(n^2))."""
    return {key: 1 + sum(1 for other in values.values() if other > value) for key, value in values.items()}


def old_rank_moves(values: list[RepoValues]) -> list[tuple[str, int, int, str]]:
    """rank_change's firings as they were computed before issue 18, comparing every pair."""
    known = {v.repo_id: v for v in values if v.day_before is not None}
    before = old_ranks({k: v.day_before for k, v in known.items() if v.day_before is not None})
    now = old_ranks({k: v.now for k, v in known.items()})
    out = []
    for key, v in known.items():
        if now[key] == before[key]:
            continue
        passed = [known[o].repo for o in known if before[o] < before[key] and now[o] > now[key]]
        passed_by = [known[o].repo for o in known if before[o] > before[key] and now[o] < now[key]]
        detail = (
            f"{v.repo} moved from #{before[key]} to #{now[key]} by stars among {len(known)} "
            f"repositories (group g), with {v.now:,}"
        )
        if passed:
            detail += "; overtook " + ", ".join(sorted(passed)[:3])
        if passed_by:
            detail += "; overtaken by " + ", ".join(sorted(passed_by)[:3])
        out.append((v.repo, now[key], before[key], detail))
    return out


def new_rank_moves(values: list[RepoValues]) -> list[tuple[str, int, int, str]]:
    return [(f.repo, f.value, f.previous or 0, f.detail) for f in compute_firings(SPEC, values, NOW)]


def values(rows: list[tuple[str, int, int | None]]) -> list[RepoValues]:
    """(name, now, the day before) -> RepoValues."""
    return [RepoValues(i, name, now, None, before, now) for i, (name, now, before) in enumerate(rows)]


@pytest.mark.parametrize(
    "rows",
    [
        [("o/a", 300, 300), ("o/b", 250, 200), ("o/c", 210, 100)],  # nobody moves
        [("o/first", 310, 300), ("o/second", 210, 200), ("o/third", 250, 100)],  # one overtakes one
        [("o/a", 1, 5), ("o/b", 2, 4), ("o/c", 3, 3), ("o/d", 4, 2), ("o/e", 5, 1)],  # order reversed
        [("o/a", 5, 5), ("o/b", 5, 6), ("o/c", 7, 5), ("o/d", 5, 5), ("o/e", 1, None)],  # ties, one new
        [(f"o/r{i}", 10 - i % 3, i) for i in range(8)],  # more than three overtaken: the first three shown
        [],
    ],
)
def test_rank_change_gives_the_old_firings_on_literals(rows: list[tuple[str, int, int | None]]) -> None:
    assert new_rank_moves(values(rows)) == old_rank_moves(values(rows))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.one_of(st.none(), st.integers(0, 6))), min_size=0, max_size=14)
)
def test_rank_change_matches_the_old_definition_on_small_inputs(pairs: list[tuple[int, int | None]]) -> None:
    rows = [(f"o/r{(i * 7) % 11}-{i}", now, before) for i, (now, before) in enumerate(pairs)]
    assert new_rank_moves(values(rows)) == old_rank_moves(values(rows))
    assert compute_ranks({i: now for i, (now, _) in enumerate(pairs)}) == old_ranks(
        {i: now for i, (now, _) in enumerate(pairs)}
    )


# --- max_messages: config and the digest ------------------------------------------------------------------

HOOK = 'webhook = "https://hooks.example.com/SECRET"\n'


def test_max_messages_defaults_to_20_and_is_validated_in_one_line(tmp_path: Path) -> None:
    base = '[alerts.a]\nrepos = ["o/a"]\nrank_change = true\n' + HOOK
    assert config_file(tmp_path, base).alerts["a"].max_messages == 20
    assert config_file(tmp_path, base + "max_messages = 5\n").alerts["a"].max_messages == 5
    for bad in ("0", "101", "2.5", '"10"', "true"):
        with pytest.raises(ConfigError) as caught:
            config_file(tmp_path, base + f"max_messages = {bad}\n")
        message = str(caught.value)
        assert "\n" not in message and message.startswith(str(tmp_path / "collector.toml"))
        assert "'alerts.a.max_messages'" in message and "an integer from 1 to 100" in message
        assert "SECRET" not in message


def test_the_digest_names_counts_and_the_first_ten() -> None:
    def rank(i: int) -> Firing:
        return Firing("a", "stars", "rank_change", i, f"o/r{i}", "2026-W12", i, i + 2, "", NOW)

    moves = [rank(i) for i in range(1, 7981)]
    text = digest_text(moves)
    assert text.startswith("and 7,980 more rank changes: o/r1 #3 -> #1, o/r2 #4 -> #2, ")
    assert text.count(" -> ") == 10 and text.endswith(", ...")
    milestone = Firing("a", "stars", "milestones", 0, "o/m", "1000", 1200, 900, "", NOW)
    assert digest_text([milestone, *moves[:2]]) == (
        "and 3 more (1 milestones passed, 2 rank changes): o/m passed 1,000, o/r1 #3 -> #1, o/r2 #4 -> #2"
    )
    body = render_digest("a", moves, "json")
    assert body["digest"] is True and body["count"] == 7980 and body["rules"] == {"rank_change": 7980}
    assert len(render_digest("a", moves, "discord")["content"]) <= 2000
    assert render_digest("a", moves, "slack")["text"].startswith("*a*: and 7,980 more rank changes: ")


# --- 10,000 members, end to end on the store and a real receiver ------------------------------------------


def seed_group(store: Store, members: int, seed: int = 18) -> int:
    """A rule group `g` of `members` repositories with random watchers yesterday and today (bulk inserts);
    returns how many changed rank."""
    rng = random.Random(seed)
    today, yesterday = NOW.date(), NOW.date() - timedelta(days=1)
    before = [rng.randrange(100_000) for _ in range(members)]
    now = [b + rng.randrange(3_000) for b in before]
    with transaction(store.sessions) as s:
        save_group_rule(s, "g", GroupRule("topic", "x"), "config", NOW)
        s.execute(
            insert(RepoRow),
            [
                {"full_name": f"o/r{i:05d}", "name_key": f"o/r{i:05d}", "tracked": True, "added_at": NOW}
                for i in range(members)
            ],
        )
        ids = {name: repo_id for name, repo_id in s.execute(select(RepoRow.full_name, RepoRow.id))}
        ordered = [ids[f"o/r{i:05d}"] for i in range(members)]
        s.execute(
            insert(GroupMemberRow),
            [{"group_name": "g", "repo_id": r, "joined_on": yesterday, "fixed": False} for r in ordered],
        )
        s.execute(
            insert(RepoSnapshot), _snapshots(ordered, before, yesterday) + _snapshots(ordered, now, today)
        )
    ranks_before, ranks_now = old_free_ranks(before), old_free_ranks(now)
    return sum(1 for i in range(members) if ranks_before[i] != ranks_now[i])


def _snapshots(ids: list[int], watchers: list[int], day: date) -> list[dict[str, object]]:
    at = datetime.combine(day, NOW.timetz())
    counters = {"stars": 0, "forks": 0, "open_issues": 0, "archived": False}
    return [
        {"repo_id": r, "observed_day": day, "observed_at": at, "watchers": w, **counters}
        for r, w in zip(ids, watchers, strict=True)
    ]


def old_free_ranks(numbers: list[int]) -> list[int]:
    """Ranks (largest first, ties share the better one) by counting, independently of compute_ranks."""
    ordered = sorted(numbers, reverse=True)
    first = {}
    for position, n in enumerate(ordered, start=1):
        first.setdefault(n, position)
    return [first[n] for n in numbers]


def test_ten_thousand_members_make_at_most_21_messages_without_blocking_the_loop(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    movers = seed_group(store, 10_000)
    assert movers > 5_000  # the case: most of the group changes rank
    config = config_file(
        tmp_path,
        f'[groups.g]\ntopic = "x"\n\n[alerts.ranks]\ngroup = "g"\nmetric = "watchers"\n'
        f'rank_change = true\nwebhook = "{receiver.url}"\n',
    )
    alerts = bind_webhooks(config.alerts, {})
    ticks: list[float] = []

    async def run() -> tuple[int, int]:
        stop = asyncio.Event()

        async def ticker() -> None:  # another coroutine of the daemon: it must go on meanwhile
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        out = await evaluate_alerts(store.sessions, alerts, now=NOW, sender=WebhookSender(sleep=Sleeps()))
        stop.set()
        await task
        return out.fired, out.delivered

    assert asyncio.run(run()) == (movers, movers)
    assert len(receiver.posts) == 21  # 20 messages and one digest
    *singles, digest = [body for _, body in receiver.posts]
    assert all(b["rule"] == "rank_change" for b in singles)
    assert [b["value"] for b in singles] == sorted(b["value"] for b in singles)  # from the top down
    assert digest["digest"] is True and digest["count"] == movers - 20
    assert digest["detail"].startswith(f"and {movers - 20:,} more rank changes: ")
    # The store and the rules ran in a thread: the loop ticked many times before the first message left.
    first_post = receiver.received[0]
    assert sum(1 for t in ticks if t < first_post) >= 5
    with store.sessions() as s:
        undelivered = s.scalars(select(AlertFiring).where(AlertFiring.delivered_at.is_(None))).all()
        assert len(s.scalars(select(AlertFiring)).all()) == movers and undelivered == []
    # Recorded: the next evaluation fires nothing again and sends nothing.
    later = asyncio.run(evaluate_alerts(store.sessions, alerts, now=NOW + timedelta(hours=1)))
    assert (later.fired, later.delivered, len(receiver.posts)) == (0, 0, 21)
