"""What a webhook receives for a firing (pure): the JSON fields, Slack's `text` or Discord's `content`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from collector.alerts.rules import Firing
from collector.alerts.spec import AlertSpec

DISCORD_MAX = 2000  # characters Discord accepts in `content`
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
