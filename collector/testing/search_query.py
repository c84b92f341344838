"""Repository search queries (`q`), parsed and matched as GitHub documents them.

Sources: docs search-github/searching-on-github/searching-for-repositories (qualifiers; free text
matches name, description and topics unless `in:` says otherwise; forks only with `fork:true|only`) and
.../understanding-the-search-syntax (`>`, `>=`, `<`, `<=`, `n..n`, `n..*`, `*..n`, dates with an optional
time, `NOT word`, `-qualifier`, quotes). Kinds of qualifier are AND-ed; repeating a kind ORs its values
(a crawler's notes report two `created:` ranges answered as a union, 2026-10), except `topic:`, where
every topic must be present (our reading of GitHub's search page; the docs say nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from collector.testing.repo_index import Entry

MAX_TEXT = 256  # "longer than 256 characters (not including operators or qualifiers)": 422
Match = Callable[[Entry], bool]
T = TypeVar("T")

_TOKEN = re.compile(r'(-?[A-Za-z][\w.-]*:(?:"[^"]*"|\S+))|("[^"]*")|(\S+)')
_RANGED: dict[str, Callable[[Entry], int]] = {
    "stars": lambda e: e.stars,
    "forks": lambda e: e.forks,
    "size": lambda e: e.size,
    "topics": lambda e: len(e.topics),
    "help-wanted-issues": lambda e: e.help_wanted,
    "good-first-issues": lambda e: 0,
}
_DATED: dict[str, Callable[[Entry], datetime]] = {
    "created": lambda e: e.created_at,
    "pushed": lambda e: e.pushed_at,
}
_FIELDS = ("name", "description", "topics", "readme")


@dataclass
class Query:
    """A parsed `q`: words that must all appear, and what each qualifier kind allows."""

    words: list[str] = field(default_factory=list)
    not_words: list[str] = field(default_factory=list)
    fields: tuple[str, ...] = ("name", "description", "topics")
    kinds: dict[str, list[Match]] = field(default_factory=dict)  # AND of kinds, OR within one
    excluded: list[Match] = field(default_factory=list)  # `-qualifier:value`
    forks: str = "false"  # false | true | only
    owners: list[str] = field(default_factory=list)  # user: and org:, lower-case
    repos: list[str] = field(default_factory=list)  # repo:owner/name, lower-case
    text_length: int = 0

    def matches(self, e: Entry) -> bool:
        """Whether the repository answers the query."""
        if (self.forks == "false" and e.fork) or (self.forks == "only" and not e.fork):
            return False
        if not all(any(m(e) for m in allowed) for allowed in self.kinds.values()):
            return False
        if any(m(e) for m in self.excluded):
            return False
        texts = self._texts(e)
        if not all(any(w in t for t in texts) for w in self.words):
            return False
        return not any(any(w in t for t in texts) for w in self.not_words)

    def score(self, e: Entry) -> float:
        """A best-match score: name hits weigh most, then topics, then the description."""
        if not self.words:
            return 1.0
        points = 0.0
        for w in self.words:
            points += 3.0 * (w in e.name) + 2.0 * any(w in t for t in e.topics) + (w in e.description)
        return round(points, 6)

    def _texts(self, e: Entry) -> list[str]:
        texts: list[str] = []
        if "name" in self.fields:
            texts.append(e.name)
        if "description" in self.fields:
            texts.append(e.description)
        if "topics" in self.fields:
            texts.extend(e.topics)
        return texts


def _span(
    text: str, parse: Callable[[str], T | None], start: Callable[[T], Any], end: Callable[[T], Any]
) -> tuple[Any, Any] | None:
    """A half-open [low, high) from `n`, `>n`, `>=n`, `<n`, `<=n`, `a..b`, `a..*` or `*..b` (None: invalid).

    `start(v)` is the first value `v` stands for and `end(v)` the first after it: for a day, its midnight
    and the next midnight; for a number n, n and n + 1. None stands for no bound.
    """
    if ".." in text:
        lo_text, _, hi_text = text.partition("..")
        lo, hi = parse(lo_text), parse(hi_text)
        if (lo is None and lo_text != "*") or (hi is None and hi_text != "*"):
            return None
        return (None if lo is None else start(lo), None if hi is None else end(hi))
    for op in (">=", "<=", ">", "<"):
        if text.startswith(op):
            v = parse(text[len(op) :])
            if v is None:
                return None
            bounds = {
                ">=": (start(v), None),
                "<=": (None, end(v)),
                ">": (end(v), None),
                "<": (None, start(v)),
            }
            return bounds[op]
    v = parse(text)
    return None if v is None else (start(v), end(v))


def _number(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d+", text) else None


def _moment(text: str) -> tuple[datetime, timedelta] | None:
    """A date (a whole UTC day) or a date and time (one second); None if it is neither."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC), timedelta(days=1)
        if "T" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC), timedelta(seconds=1)
    except ValueError:
        return None
    return None


def _within(read: Callable[[Entry], Any], span: tuple[Any, Any] | None) -> Match:
    if span is None:
        return lambda e: False  # an unreadable value matches nothing, as a literal word would
    lo, hi = span
    return lambda e: (lo is None or read(e) >= lo) and (hi is None or read(e) < hi)


def _qualifier(key: str, value: str) -> Match | None:
    """The test one `key:value` stands for; None for a key that is no filter (it is then a word)."""
    if key in _RANGED:
        return _within(_RANGED[key], _span(value, _number, lambda n: n, lambda n: n + 1))
    if key in _DATED:
        return _within(_DATED[key], _span(value, _moment, lambda m: m[0], lambda m: m[0] + m[1]))
    low = value.lower()
    tests: dict[str, Match] = {
        "user": lambda e: e.owner == low,
        "org": lambda e: e.owner == low,
        "repo": lambda e: e.full_name == low,
        "topic": lambda e: low in e.topics,
        "language": lambda e: e.language == low,
        "archived": lambda e: e.repo.archived == (low == "true"),
        # The simulated world has no mirrors, templates, licences, private or sponsorable repositories.
        "mirror": lambda e: low != "true",
        "template": lambda e: low != "true",
        "license": lambda e: False,
        "is": lambda e: low == "public",
    }
    return tests.get(key)


def parse_query(q: str) -> Query:
    """`q` as a Query; unknown qualifiers count as words, and the operators AND and OR are ignored."""
    query = Query()
    text: list[str] = []
    negate_next = False
    for qualified, quoted, bare in _TOKEN.findall(q):
        if qualified:
            negated = qualified.startswith("-")
            key, _, value = qualified.lstrip("-").partition(":")
            key, value = key.lower(), value.strip('"')
            if key == "fork" and not negated:
                query.forks = value.lower() if value.lower() in ("true", "only") else "false"
                continue
            if key == "in" and not negated:
                query.fields = tuple(f for f in value.lower().split(",") if f in _FIELDS) or query.fields
                continue
            match = _qualifier(key, value)
            if match is not None:
                if negated:
                    query.excluded.append(match)
                    continue
                if key in ("user", "org"):
                    query.owners.append(value.lower())
                elif key == "repo":
                    query.repos.append(value.lower())
                # Every topic must be there: each is its own kind.
                query.kinds.setdefault(f"topic:{value.lower()}" if key == "topic" else key, []).append(match)
                continue
        raw = quoted or bare or qualified
        if raw in ("AND", "OR"):
            continue
        if raw == "NOT":
            negate_next = True
            continue
        word = raw.strip('"').lower()
        text.append(word)
        (query.not_words if negate_next else query.words).append(word)
        negate_next = False
    query.text_length = len(" ".join(text))
    return query
