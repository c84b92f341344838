"""Time one alert evaluation over a rule group of --members repositories (default 10,000) whose watchers
changed rank since the day before, into a throwaway PostgreSQL database, delivering to a local webhook
receiver on 127.0.0.1: the rules alone, the whole evaluation (store, rules, delivery), the messages sent,
and the longest the event loop went without running another coroutine (a 10 ms ticker).

    python bench/bench_alerts.py [--pg-url URL] [--members 10000] [--paced]

Without --paced the webhook's pacing waits are skipped (they are the service's rate, not our cost; with
it, 21 JSON messages take about 4 s more).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, select
from store_bench import DEFAULT_ADMIN_URL, throwaway_database

from collector.alerts.evaluate import evaluate_alerts
from collector.alerts.rules import RepoValues, compute_firings
from collector.alerts.spec import AlertSpec, Webhook
from collector.alerts.webhook import WebhookSender
from collector.domain import GroupRule
from collector.store.engine import make_engine, session_factory, transaction
from collector.store.groups import save_group_rule
from collector.store.models import GroupMemberRow, RepoRow, RepoSnapshot

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


def seed_group(sessions: Any, members: int, seed: int = 18) -> tuple[list[int], list[int]]:
    """Rule group `g` of `members` repositories, watchers the day before and today; (before, now)."""
    rng = random.Random(seed)
    today, yesterday = NOW.date(), NOW.date() - timedelta(days=1)
    before = [rng.randrange(100_000) for _ in range(members)]
    now = [b + rng.randrange(3_000) for b in before]
    names = [f"o/r{i:06d}" for i in range(members)]
    with transaction(sessions) as s:
        save_group_rule(s, "g", GroupRule("topic", "x"), "config", NOW)
        s.execute(
            insert(RepoRow),
            [{"full_name": n, "name_key": n, "tracked": True, "added_at": NOW} for n in names],
        )
        ids = {name: repo_id for name, repo_id in s.execute(select(RepoRow.full_name, RepoRow.id))}
        ordered = [ids[n] for n in names]
        s.execute(
            insert(GroupMemberRow),
            [{"group_name": "g", "repo_id": r, "joined_on": yesterday, "fixed": False} for r in ordered],
        )
        s.execute(
            insert(RepoSnapshot), _snapshots(ordered, before, yesterday) + _snapshots(ordered, now, today)
        )
    return before, now


def _snapshots(ids: list[int], watchers: list[int], day: date) -> list[dict[str, Any]]:
    at = datetime.combine(day, NOW.timetz())
    zero = {"stars": 0, "forks": 0, "open_issues": 0, "archived": False}
    return [
        {"repo_id": r, "observed_day": day, "observed_at": at, "watchers": w, **zero}
        for r, w in zip(ids, watchers, strict=True)
    ]


@contextmanager
def receiver() -> Iterator[tuple[str, list[int]]]:
    """A webhook receiver on 127.0.0.1 answering 204: (its URL, the sizes of the bodies it got)."""
    sizes: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sizes.append(len(self.rfile.read(int(self.headers.get("content-length", "0")))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", sizes
    finally:
        server.shutdown()
        server.server_close()


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def evaluate_ticking(sessions: Any, spec: AlertSpec, paced: bool) -> tuple[Any, float, float]:
    """(outcome, seconds, the longest gap between two ticks of a 10 ms ticker) of one evaluation."""
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    sender = WebhookSender() if paced else WebhookSender(sleep=_no_wait)
    began = time.perf_counter()
    outcome = await evaluate_alerts(sessions, {spec.name: spec}, now=NOW, sender=sender)
    seconds = time.perf_counter() - began
    stop.set()
    await task
    return outcome, seconds, max((b - a for a, b in zip(ticks, ticks[1:], strict=False)), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg-url", default=DEFAULT_ADMIN_URL, help="a PostgreSQL server's admin URL")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--paced", action="store_true", help="wait out the webhook's pace as the daemon does")
    args = parser.parse_args()
    with throwaway_database(args.pg_url) as url, receiver() as (hook, sizes):
        engine = make_engine(url)
        sessions = session_factory(engine)
        before, now = seed_group(sessions, args.members)
        pairs = enumerate(zip(before, now, strict=True))
        values = [RepoValues(i, f"o/r{i:06d}", n, None, b, b) for i, (b, n) in pairs]
        spec = AlertSpec("ranks", (), "g", Webhook(hook), metric="watchers", rank_change=True)
        began = time.perf_counter()
        moves = len(compute_firings(spec, values, NOW))
        rules = time.perf_counter() - began
        outcome, seconds, stall = asyncio.run(evaluate_ticking(sessions, spec, args.paced))
        engine.dispose()
    print(f"members                 {args.members:,}")
    print(f"rank changes            {moves:,} (fired {outcome.fired:,}, delivered {outcome.delivered:,})")
    print(f"rules alone             {rules:.2f} s")
    print(f"whole evaluation        {seconds:.2f} s ({'paced' if args.paced else 'pacing waits skipped'})")
    print(f"messages sent           {len(sizes)} (largest {max(sizes, default=0):,} bytes)")
    print(f"longest event-loop gap  {stall * 1000:.0f} ms")


if __name__ == "__main__":
    main()
