"""One search query walked down under GitHub's 1,000-result cap, without dropping or doubling a match.

GitHub answers at most 1,000 results per query (a page past them is 422) and orders them by the sort key
only: repositories with equal star counts come in a fresh order on each request, so across pages one can
come twice and another not at all (PyGithub issues 1748 and 2812). So the walk counts unique ids. A span
of the query (a star range, then creation days) is whole when the ids seen in it number its
`total_count`; one that falls short is asked again, narrower: first the star counts that a page boundary
cut (the only places a tie can hide a repository), then halves of its star range, then halves of its
creation days. What cannot be narrowed further (one star count created on one day) is asked a few more
times and otherwise marked incomplete with a reason, so nobody is marked as gone from it.

Above 1,000 matches the walk goes down by stars: `stars:>=MIN` sorted by stars gives the top 1,000, then
`stars:MIN..S`, S being the fewest stars seen (inclusive: ties cut off at the 1,000th come again). The
upper bound only shrinks. Inside a capped answer, the slots above S hold every repository above S when
they hold no id twice; when they do, each cut star count is asked alone and the range above S is counted
against its own total. Reading a span stops early once the ids already seen in it number its total.

Each rule gets at most `MAX_SEARCH_REQUESTS` search requests; reaching it ends the walk, incomplete.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from collector.domain import GroupRule
from collector.github.api import GitHubAPI
from collector.github.found import Discovery

SEARCH_CAP = 1000  # results GitHub gives per query
PER_PAGE = 100
PAGES_PER_QUERY = SEARCH_CAP // PER_PAGE
INCOMPLETE_RETRIES = 2  # a page GitHub marks incomplete_results (a search that timed out) is asked again
SAME_SPAN_RETRIES = 3  # one star count on one day that came short: asked again (ties reorder each time)
# About 67 minutes of the 30-a-minute search budget; a whole walk of 100,000 matches needs about 1,100.
MAX_SEARCH_REQUESTS = 2000
GITHUB_FIRST_DAY = date(2007, 10, 1)  # no repository was created before GitHub existed


class SearchLimitReached(Exception):
    """The rule used up its search requests."""


@dataclass(frozen=True)
class Span:
    """Part of a query's matches: stars in [low, high] (high None: no bound; None: the user's own stars
    qualifier) and creation days in [first, last] (None: any)."""

    stars: tuple[int, int | None] | None
    days: tuple[date, date] | None = None

    def qualifiers(self) -> str:
        """The span as search qualifiers."""
        parts = []
        if self.stars is not None:
            low, high = self.stars
            parts.append(f"stars:>={low}" if high is None else f"stars:{low}..{high}")
        if self.days is not None:
            parts.append(f"created:{self.days[0]}..{self.days[1]}")
        return " ".join(parts)

    def holds(self, stars: int, created: date | None) -> bool:
        """Whether a repository with these stars and creation day lies in the span."""
        if self.stars is not None:
            low, high = self.stars
            if stars < low or (high is not None and stars > high):
                return False
        if self.days is not None:
            return created is not None and self.days[0] <= created <= self.days[1]
        return True

    def halves(self, stars_seen: list[int], today: date) -> tuple[Span, Span] | None:
        """Two narrower spans that together make this one (None: one star count on one day)."""
        if self.stars is not None and self.days is None:
            low, high = self.stars
            if high is None or low < high:
                # Split at the middle of what was seen, so each half holds about half of the matches.
                inside = sorted(s for s in stars_seen if self.holds(s, None)) or [low]
                middle = inside[len(inside) // 2]
                cut = max(low, middle if high is None else min(middle, high - 1))
                return Span((low, cut)), Span((cut + 1, high))
        day_one, day_last = self.days or (GITHUB_FIRST_DAY, today)
        if day_one >= day_last:
            return None
        mid = day_one + timedelta(days=(day_last - day_one).days // 2)
        return self.with_days(day_one, mid), self.with_days(mid + timedelta(days=1), day_last)

    def with_days(self, first: date, last: date) -> Span:
        """This span's stars, created in [first, last]."""
        return Span(self.stars, (first, last))


@dataclass
class Answer:
    """What one query's pages gave: the total, and each item as (page, id, stars) in order."""

    total: int = 0
    items: list[tuple[int, int, int]] = field(default_factory=list)
    timed_out: bool = False  # a page still had incomplete_results after its retries

    def fewest(self) -> int | None:
        """The fewest stars among the items."""
        return min((stars for _, _, stars in self.items), default=None)

    def repeats_above(self, stars: int) -> bool:
        """Whether the slots above `stars` hold an id twice (then another id was never shown)."""
        ids = [github_id for _, github_id, s in self.items if s > stars]
        return len(set(ids)) < len(ids)

    def cut_counts(self, above: int | None = None) -> list[int]:
        """Star counts whose repositories were spread over more than one page, highest first."""
        pages: defaultdict[int, set[int]] = defaultdict(set)
        for page, _, stars in self.items:
            if above is None or stars > above:
                pages[stars].add(page)
        return sorted((s for s, p in pages.items() if len(p) > 1), reverse=True)


class SearchWalk:
    """Every match of one query, asked span by span under the 1,000-result cap."""

    def __init__(
        self,
        api: GitHubAPI,
        rule: GroupRule,
        query: str,
        today: date,
        discovery: Discovery,
        max_requests: int,
    ) -> None:
        self.api, self.rule, self.query, self.today = api, rule, query, today
        self.discovery = discovery
        self.max_requests = max_requests
        self.seen: dict[int, tuple[int, date | None]] = {}  # every id answered: stars, creation day

    async def walk(self) -> None:
        """Walk the query (by stars, or by creation days when the query has its own stars qualifier)."""
        try:
            if "stars:" in self.query:
                await self.ensure(Span(None, (GITHUB_FIRST_DAY, self.today)))
            else:
                await self._walk_stars(self.rule.min_stars)
        except SearchLimitReached:
            self.incomplete(
                f"stopped after {self.discovery.requests} search requests, the most one rule may use "
                f"({self.max_requests}); {len(self.seen):,} repositories seen"
            )

    async def _walk_stars(self, low: int) -> None:
        high: int | None = None
        while high is None or high >= low:
            span = Span((low, high))
            got = await self.read(span)
            if got.total <= SEARCH_CAP:
                await self.ensure(span, got)
                return
            fewest = got.fewest()
            if fewest is None or (high is not None and fewest > high):
                where = f"{self.query!r} {span.qualifiers()}"
                self.incomplete(f"GitHub's search for {where} gave nothing in range")
                return
            if fewest != high:
                await self._complete_above(got, fewest, high)
            if fewest == high:  # 1,000 or more repositories at exactly this count: by creation days
                await self.ensure(Span((fewest, fewest)))
                high = fewest - 1
            else:
                high = fewest  # inclusive: those at the boundary that were cut off come again

    async def _complete_above(self, got: Answer, fewest: int, high: int | None) -> None:
        """Make sure every repository above `fewest` stars (and up to `high`) of a capped answer is seen.

        1,000 slots without a repeated id hold every repository above the fewest count; a repeat (or a
        short answer) means one was hidden: the cut star counts are asked alone, then the range above is
        counted against its own total (one request when nothing is missing any more)."""
        if len(got.items) < SEARCH_CAP or got.repeats_above(fewest):
            for stars in got.cut_counts(above=fewest):
                await self.ensure(Span((stars, stars)))
            await self.ensure(Span((fewest + 1, high)))

    async def ensure(self, span: Span, got: Answer | None = None) -> None:
        """Ask `span` until every match in it has been seen, narrowing it while answers fall short."""
        if got is None:  # a span to be halved anyway needs only its total when it is over the cap
            got = await self.read(span, capped_probe=span.halves([], self.today) is not None)
        if self.whole(span, got) or got.timed_out:  # a timed-out answer is already marked incomplete
            return
        if span.stars is not None and span.stars[0] != span.stars[1] and span.days is None:
            if got.total <= SEARCH_CAP:  # ask each star count a page boundary cut, alone
                for stars in got.cut_counts():
                    await self.ensure(Span((stars, stars)))
                if self.whole(span, got):
                    return
        halves = span.halves([stars for _, _, stars in got.items], self.today)
        if halves is not None:
            for half in halves:
                await self.ensure(half)
            return
        for _ in range(SAME_SPAN_RETRIES):  # ties come in a new order each time
            got = await self.read(span)
            if self.whole(span, got):
                return
        self.incomplete(
            f"{self.count(span)} of {got.total} repositories matching {self.query!r} {span.qualifiers()}"
            + f" seen after asking {SAME_SPAN_RETRIES + 1} times"
            + (f" (GitHub gives {SEARCH_CAP} per query)" if got.total > SEARCH_CAP else "")
        )

    def whole(self, span: Span, got: Answer) -> bool:
        """Whether every match in the span has been seen (`total_count` counts them all)."""
        return self.count(span) >= got.total

    def count(self, span: Span) -> int:
        """Unique ids seen so far that lie in the span."""
        return sum(1 for stars, created in self.seen.values() if span.holds(stars, created))

    def incomplete(self, note: str) -> None:
        """Mark the answer partial (nobody will be marked as gone), saying why."""
        self.discovery.complete = False
        self.discovery.notes.append(note)

    async def read(self, span: Span, capped_probe: bool = False) -> Answer:
        """Up to 1,000 results of one span, most stars first (only the first page of a span over the cap
        with `capped_probe`)."""
        query = f"{self.query} {span.qualifiers()}"
        got = Answer()
        for page in range(1, PAGES_PER_QUERY + 1):
            body = await self._page(query, page, got)
            got.total = int(body.get("total_count", 0))
            items = body.get("items") or []
            for item in items:
                found = self.discovery.add(item, self.rule)
                if found is not None:
                    created = found.repo.created_at.date() if found.repo.created_at else None
                    self.seen[found.repo.github_id] = (found.stars, created)
                    got.items.append((page, found.repo.github_id, found.stars))
            if len(items) < PER_PAGE or page * PER_PAGE >= min(got.total, SEARCH_CAP):
                break
            if self.whole(span, got) or (capped_probe and got.total > SEARCH_CAP):
                break  # what was seen before holds the rest, or the span will be asked in halves
        return got

    async def _page(self, query: str, page: int, got: Answer) -> dict[str, Any]:
        params: dict[str, str | int] = {
            "q": query,
            "sort": "stars",
            "order": "desc",
            "per_page": PER_PAGE,
            "page": page,
        }
        url = self.api.client.url("/search/repositories", params)
        for attempt in range(INCOMPLETE_RETRIES + 1):
            if self.discovery.requests >= self.max_requests:
                raise SearchLimitReached
            response = await self.api.client.request("GET", url, resource="search")
            self.discovery.requests += 1
            body: dict[str, Any] = response.json()
            if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
                raise response.malformed("a search result that is not {total_count, items}")
            if not body.get("incomplete_results"):
                return body
            if attempt == INCOMPLETE_RETRIES:
                # GitHub's search timed out and gave part of the answer: keep it, but mark nobody as gone.
                got.timed_out = True
                self.incomplete(f"GitHub's search gave incomplete results for {query!r} (page {page})")
        return body
