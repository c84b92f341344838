"""What a webhook receives for a firing (pure): the JSON fields, Slack's `text` or Discord's `content`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from collector.alerts.rules import Firing
from collector.alerts.spec import AlertSpec

DISCORD_MAX = 2000  # characters Discord accepts in `content`
DIGEST_SHOWN = 10  # firings a digest message names
_RULE_WORDS = {
    "rank_change": "rank changes",
    "milestones": "milestones passed",
    "weekly_growth": "weekly growths",
    "weekly_growth_percent": "weekly growths (percent)",
}
_DISCORD_MARKUP = re.compile(r"([\\*_~`|>])")


def render_payload(firing: Firing, fmt: str) -> dict[str, Any]:
    """The JSON body to POST: `json` (the firing's fields), `slack` ({"text"}) or `discord` ({"content"})."""
    if fmt == "slack":
        # Slack reads &, < and > as markup (links, mentions): escaped as its docs ask.
        # See: https://api.slack.com/reference/surfaces/formatting#escaping
        return {"text": f"*{_slack_escape(firing.alert)}* ({firing.rule}): {_slack_escape(firing.detail)}"}
    if fmt == "discord":
        text = f"**{_discord_escape(firing.alert)}** ({firing.rule}): {_discord_escape(firing.detail)}"
        return {"content": text[:DISCORD_MAX]}
    return {
        "alert": firing.alert,
        "repo": firing.repo,
        "rule": firing.rule,
        "metric": firing.metric,
        "value": firing.value,
        "previous": firing.previous,
        "detail": firing.detail,
        "fired_at": firing.fired_at.isoformat(),
    }


def render_digest(alert: str, firings: Sequence[Firing], fmt: str) -> dict[str, Any]:
    """One message for the firings past an evaluation's `max_messages`: counts per rule and the first
    DIGEST_SHOWN of them, e.g. "and 7,980 more rank changes: o/a #9 -> #4, ..."."""
    text = digest_text(firings)
    if fmt == "slack":
        return {"text": f"*{_slack_escape(alert)}*: {_slack_escape(text)}"}
    if fmt == "discord":
        return {"content": f"**{_discord_escape(alert)}**: {_discord_escape(text)}"[:DISCORD_MAX]}
    counts = Counter(f.rule for f in firings)
    return {
        "alert": alert,
        "digest": True,
        "count": len(firings),
        "rules": dict(counts),
        "repos": [f.repo for f in firings[:DIGEST_SHOWN]],
        "detail": text,
        "fired_at": max(f.fired_at for f in firings).isoformat(),
    }


def digest_text(firings: Sequence[Firing]) -> str:
    """The digest text: "and N more <rule>: <the first DIGEST_SHOWN, briefly>, ..." (per rule if several)."""
    counts = Counter(f.rule for f in firings)
    if len(counts) == 1:
        [(rule, n)] = counts.items()
        head = f"and {n:,} more {_RULE_WORDS.get(rule, rule)}"
    else:
        parts = ", ".join(f"{n:,} {_RULE_WORDS.get(rule, rule)}" for rule, n in counts.items())
        head = f"and {len(firings):,} more ({parts})"
    shown = ", ".join(_brief(f) for f in firings[:DIGEST_SHOWN])
    return f"{head}: {shown}" + (", ..." if len(firings) > DIGEST_SHOWN else "")


def _brief(f: Firing) -> str:
    if f.rule == "rank_change":
        return f"{f.repo} #{f.previous} -> #{f.value}"
    if f.rule == "milestones":
        return f"{f.repo} passed {int(f.occurrence):,}" if f.occurrence.isdigit() else f.repo
    return f"{f.repo} {f.value:,}" + (f" (was {f.previous:,})" if f.previous is not None else "")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _discord_escape(text: str) -> str:
    return _DISCORD_MARKUP.sub(r"\\\1", text)


def sample_firing(spec: AlertSpec, now: datetime) -> Firing:
    """A made-up firing for `collector alerts test`: what this alert's messages look like."""
    repo = spec.repos[0].full_name if spec.repos else "owner/name"
    return Firing(
        alert=spec.name,
        metric=spec.metric,
        rule="test",
        repo_id=0,
        repo=repo,
        occurrence="test",
        value=10_000,
        previous=9_000,
        detail=f"test message from collector for alert {spec.name} ({spec.metric} of {repo}); "
        "alerts will look like this",
        fired_at=now,
    )
